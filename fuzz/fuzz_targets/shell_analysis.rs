//! The payload analyser never panics; a verbatim rebuild of an accepted payload re-analyses to
//! the same argv lists (the property payload literalisation relies on); deciding never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_node::policy::analysis::shell::{analyze, rebuild};
use openclaw_node::policy::compiled::CompiledPolicy;
use openclaw_node::policy::decide::{Context, decide};
use openclaw_node::policy::fsview::VirtualFs;
use openclaw_node::policy::plan::RunRequest;
use openclaw_node::policy::resolve::Requested;
use openclaw_node::policy::safe_bins::SafeBinConfig;
use openclaw_node::policy::approvals::parse_text;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = analyze(payload) {
        for s in a.segments() {
            assert!(!s.argv.is_empty(), "accepted segments have argv");
        }
        let none = vec![None; a.segment_count()];
        let rebuilt = rebuild(payload, &a, &none).expect("segment count matches");
        let b = analyze(&rebuilt).expect("rebuilt payload must analyse");
        let av: Vec<_> = a.segments().map(|s| s.argv.clone()).collect();
        let bv: Vec<_> = b.segments().map(|s| s.argv.clone()).collect();
        assert_eq!(
            av, bv,
            "rebuild changed the argv: {payload:?} -> {rebuilt:?}"
        );
    }
    let file = parse_text(
        r#"{"version":1,"agents":{"main":{"allowlist":["/usr/bin/rg","/usr/bin/e*"]}}}"#,
    )
    .expect("static file");
    let policy = CompiledPolicy::from_file(file, None);
    let safe = SafeBinConfig::default();
    let ctx = Context {
        requested: Requested::default(),
        strict_inline_eval: true,
        safe_bins: &safe,
        skills: &[],
        node_path: "/usr/bin:/bin",
        inherited_env: &[],
    };
    let _ = decide(
        &policy,
        &RunRequest::shell(payload),
        &ctx,
        &VirtualFs::conventions(),
    );
});
