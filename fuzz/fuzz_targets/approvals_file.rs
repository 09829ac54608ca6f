//! parse → normalise → serialise → parse is stable, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_node::policy::approvals::parse_text;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = parse_text(&text) {
        let once = file.to_canonical_string();
        let again = parse_text(&once).expect("canonical output must parse");
        assert_eq!(
            again.to_canonical_string(),
            once,
            "canonical form is a fixed point"
        );
        let _ = file.redacted().to_value();
    }
});
