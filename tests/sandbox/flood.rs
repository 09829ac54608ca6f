//! Output flood: a child writing far more than the cap must not grow the host's memory (the
//! capture keeps the 200 000-byte head and discards the rest while still draining the pipe).
//! One test in its own binary so the peak-RSS measurement is not disturbed by other tests.

use std::process::Command;

use crate::support::sandbox::*;
use openclaw_node::sandbox::OUTPUT_CAP_BYTES;

const FLOOD: usize = 96 * 1024 * 1024;

fn vm_hwm_kib() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn attack_output_flood_memory_stays_bounded() {
    let l = launcher("{}");
    let cwd = tempfile::tempdir().unwrap();
    let script = format!("head -c {FLOOD} /dev/zero");
    let before = vm_hwm_kib();
    let o = run(&l, sh(&script, cwd.path()));
    let grown_kib = vm_hwm_kib().saturating_sub(before);
    assert_eq!(o.exit_code, Some(0), "{:?}", o.error);
    assert_eq!(o.stdout.len(), OUTPUT_CAP_BYTES + "\n... (truncated)".len());
    assert!(
        grown_kib < 24 * 1024,
        "peak RSS grew by {grown_kib} KiB while the child wrote {FLOOD} bytes"
    );

    // Baseline control: an uncapped capture holds the whole flood in memory.
    let before = vm_hwm_kib();
    let out = Command::new("/bin/sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let grown_kib = vm_hwm_kib().saturating_sub(before);
    assert_eq!(out.stdout.len(), FLOOD);
    assert!(grown_kib > 64 * 1024, "baseline grew only {grown_kib} KiB");
}
