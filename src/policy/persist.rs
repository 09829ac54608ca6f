//! The side effects of an allowed run, kept apart from the pure decision: persisting
//! `allow-always` grants (EA §15) and the `lastUsedAt` / `lastUsedCommand` /
//! `lastResolvedPath` bookkeeping of the entries that matched (EA §8.3).

use serde_json::json;

use super::approvals::{AllowlistEntry, Store, StoreError};
use super::decide::Decision;
use crate::util::now_ms;

/// Persist the decision's allow-always grants (fatal on failure: the caller denies the run)
/// and record allowlist use (`lastUsed*`, best effort).
pub fn apply(store: &Store, d: &Decision) -> Result<(), StoreError> {
    if !d.persist_grants.is_empty() {
        let agent = d.agent_id.clone();
        let grants = d.persist_grants.clone();
        let marker = d.persist_marker.clone();
        store.update(|snap| {
            let mut file = snap.file.clone();
            let now = now_ms();
            let entry = file.agents.entry(agent.clone()).or_default();
            let list = entry.allowlist.get_or_insert_with(Vec::new);
            // A bare-path grant stored by an earlier version for the same executable matches
            // nothing any more: replaced by the cwd-bound grant (2026.9.6 does the same).
            list.retain(|e| {
                !(e.source.as_deref() == Some("allow-always")
                    && e.arg_pattern.is_none()
                    && grants.iter().any(|g| g.pattern == e.pattern.trim()))
            });
            let mut add = |pattern: &str, arg: Option<&str>| {
                if let Some(e) = list.iter_mut().find(|e| {
                    e.pattern.trim() == pattern && e.arg_pattern.as_deref().map(str::trim) == arg
                }) {
                    e.last_used_at = Some(json!(now));
                    e.source = Some("allow-always".into());
                } else {
                    let mut e = AllowlistEntry::new(pattern);
                    e.arg_pattern = arg.map(str::to_string);
                    e.last_used_at = Some(json!(now));
                    e.source = Some("allow-always".into());
                    list.push(e);
                }
            };
            for g in &grants {
                add(&g.pattern, Some(&g.arg_pattern));
            }
            if let Some(m) = &marker {
                add(m, None);
            }
            Ok(Some(file))
        })?;
    }
    if !d.matched_entries.is_empty() {
        let matched = d.matched_entries.clone();
        let res = store.update(|snap| {
            let mut file = snap.file.clone();
            let now = now_ms();
            for m in &matched {
                if let Some(e) = file
                    .agents
                    .get_mut(&m.agent)
                    .and_then(|a| a.allowlist.as_mut())
                    .and_then(|l| l.get_mut(m.index))
                {
                    e.last_used_at = Some(json!(now));
                    e.last_used_command = Some(m.command.clone());
                    e.last_resolved_path = m.resolved_path.clone();
                }
            }
            Ok(Some(file))
        });
        if let Err(e) = res {
            tracing::warn!(error = %e, "could not record allowlist use");
        }
    }
    Ok(())
}
