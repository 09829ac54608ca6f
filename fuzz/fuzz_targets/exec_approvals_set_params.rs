//! Bytes → `paramsJSON` (`commands::decode_params`) → `system.execApprovals.set` params
//! (`policy::decode_approvals_set`) → the submitted file's checks and normalisation
//! (`policy::approvals::normalize_remote`, what `Store::set_remote` runs before it locks and
//! writes). Pure: nothing touches the disk.
//!
//! Invariants: never panics; errors are non-empty; an accepted file, after `ensure_ids` (as the
//! store does before writing), serialises to a canonical form that the on-disk parser accepts
//! (a remote `set` can never brick the node) and that is a fixed point; every entry has an id;
//! resubmitting the stored file is a no-op; the redacted form carries no token; the file
//! compiles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_node::commands::decode_params;
use openclaw_node::policy::compiled::CompiledPolicy;
use openclaw_node::policy::decode_approvals_set;
use openclaw_node::policy::approvals::{normalize_remote, parse_text};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = match decode_params(Some(text), true) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.message.is_empty());
            return;
        }
    };
    let (file, base) = match decode_approvals_set(&params) {
        Ok(x) => x,
        Err(e) => {
            assert_eq!(e.kind.wire_code(), "INVALID_REQUEST");
            assert!(!e.message.is_empty());
            return;
        }
    };
    assert!(file.is_object());
    let _ = base.map(str::trim);
    let mut incoming = match normalize_remote(file) {
        Ok(f) => f,
        Err(m) => {
            assert!(!m.trim().is_empty(), "empty error");
            return;
        }
    };
    incoming.ensure_ids();
    for agent in incoming.agents.values() {
        for e in agent.allowlist.iter().flatten() {
            assert!(e.id.as_deref().is_some_and(|i| !i.trim().is_empty()));
        }
    }
    let canonical = incoming.to_canonical_string();
    let on_disk = match parse_text(&canonical) {
        Ok(f) => f,
        Err(m) => panic!("a remote set wrote a file the node cannot read back: {m}\n{canonical}"),
    };
    assert_eq!(
        on_disk.to_canonical_string(),
        canonical,
        "canonical form is a fixed point"
    );
    // Submitting the stored file again (what a UI round trip does) changes nothing.
    let resubmitted = normalize_remote(&on_disk.to_value()).expect("stored file resubmits");
    assert_eq!(
        resubmitted.to_canonical_string(),
        canonical,
        "remote set is idempotent"
    );
    let redacted = on_disk.redacted();
    assert!(redacted.socket.token.is_none());
    let _ = redacted.to_value();
    let _ = CompiledPolicy::from_file(on_disk, Some(std::path::Path::new("/home/u")));
});
