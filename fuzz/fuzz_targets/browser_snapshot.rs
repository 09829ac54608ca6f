//! Bytes → a CDP `Accessibility.getFullAXTree` node list (JSON array) → the `GET /snapshot`
//! renderers `browser::snapshot::render_ai` (with `interactive`/`compact`/`depth`/`maxChars`
//! options) and `render_aria` (with a `limit`). The tree describes page content, so its shape
//! must never make the node hang or panic (cycles, shared children, missing ids).
//!
//! Invariants: never panics, terminates quickly (run with `-timeout`); `maxChars` bounds the
//! text (plus the truncation marker); every ref shown is in the ref table and is bound to a
//! node; `render_aria` returns at most `limit` entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openclaw_node::browser::snapshot::{RefTable, SnapshotOptions, render_ai, render_aria};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let (flags, rest) = data.split_at(1);
    let Ok(Value::Array(nodes)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let f = flags[0];
    let opts = SnapshotOptions {
        interactive: f & 1 != 0,
        compact: f & 2 != 0,
        depth: (f & 4 != 0).then_some(usize::from(f >> 5)),
        max_chars: if f & 8 != 0 { usize::from(f) * 4 } else { 0 },
    };
    let mut table = RefTable::default();
    let r = render_ai(&nodes, &opts, &mut table);
    if opts.max_chars > 0 {
        let marker = "\n\n[...TRUNCATED - page too large]".len().max("…".len());
        assert!(
            r.snapshot.len() <= opts.max_chars + marker,
            "maxChars exceeded"
        );
    }
    assert_eq!(r.refs.len(), table.refs.len());
    for k in r.refs.keys() {
        assert!(table.resolve(k).is_some(), "ref {k} not in the table");
    }
    let limit = usize::from(f % 16) * 4;
    let aria = render_aria(&nodes, limit, &mut table);
    assert!(aria.len() <= limit);
});
