//! The compiled policy: an immutable view of one approvals-file version, with one compiled
//! allowlist per agent (`*` entries inherited first). Built once per file hash.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::approvals::{ApprovalsFile, FileStatus};
use super::matcher::{CompiledAllowlist, EntrySource};

/// Per-agent compiled data.
#[derive(Debug, Clone)]
pub struct CompiledAgent {
    pub allowlist: CompiledAllowlist,
}

/// An immutable compiled policy.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// The normalised file it was compiled from.
    pub file: Arc<ApprovalsFile>,
    /// Hash of the bytes it was compiled from.
    pub hash: String,
    pub status: FileStatus,
    agents: HashMap<String, CompiledAgent>,
    wildcard_only: CompiledAgent,
}

fn sources<'a>(file: &'a ApprovalsFile, agent: Option<&'a str>) -> Vec<EntrySource<'a>> {
    let mut out = Vec::new();
    let mut push = |key: &'a str| {
        if let Some(list) = file.agents.get(key).and_then(|a| a.allowlist.as_ref()) {
            for (i, e) in list.iter().enumerate() {
                out.push(EntrySource {
                    agent: key,
                    index: i,
                    pattern: e.pattern.as_str(),
                    arg_pattern: e.arg_pattern.as_deref(),
                    allow_always: e.source.as_deref() == Some("allow-always"),
                });
            }
        }
    };
    push("*");
    if let Some(a) = agent {
        push(a);
    }
    out
}

impl CompiledPolicy {
    /// Compile every agent of `file`.
    pub fn compile(
        file: ApprovalsFile,
        hash: String,
        status: FileStatus,
        home: Option<&Path>,
    ) -> Self {
        let mut agents = HashMap::new();
        for name in file.agents.keys() {
            if name == "*" {
                continue;
            }
            let allowlist = CompiledAllowlist::compile(&sources(&file, Some(name)), home);
            agents.insert(name.clone(), CompiledAgent { allowlist });
        }
        let wildcard_only = CompiledAgent {
            allowlist: CompiledAllowlist::compile(&sources(&file, None), home),
        };
        Self {
            file: Arc::new(file),
            hash,
            status,
            agents,
            wildcard_only,
        }
    }

    /// Compile a file that is not on disk (tests, presets, benches).
    pub fn from_file(file: ApprovalsFile, home: Option<&Path>) -> Self {
        let hash = super::approvals::hash_bytes(file.to_canonical_string().as_bytes());
        Self::compile(file, hash, FileStatus::Valid, home)
    }

    /// The compiled data for an agent (`*` only when the agent has no entry).
    pub fn agent(&self, agent_id: &str) -> &CompiledAgent {
        self.agents.get(agent_id).unwrap_or(&self.wildcard_only)
    }
}
