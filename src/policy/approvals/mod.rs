//! The exec-approvals store (EA §2): schema, strict parsing with hard limits, normalisation and
//! legacy migration, canonical serialisation, atomic `0600` writes with symlink refusal under an
//! advisory `flock`, hash snapshots and redaction.
//!
//! Decisions taken where the spec leaves room:
//! - Invalid content on disk fails closed (newest upstream): the runtime policy becomes
//!   `deny/off/deny`, and the file is **never** rewritten automatically, so a user's entries are not
//!   lost; `system.execApprovals.get` still reports `exists: true` and the hash of the raw bytes.
//! - Limits: at most [`MAX_FILE_BYTES`] bytes, no NUL bytes, at most [`MAX_AGENTS`] agents and
//!   [`MAX_ENTRIES`] allowlist entries in total. Exceeding them is an error, never a truncation.
//! - Allowlist items whose `pattern` is blank are dropped (they can never match); this is logged.
//! - A remote `socket.token` is ignored: the node keeps (or generates) its own token.
//!
//! Layout: [`schema`] (the file's types), [`parse`] (strict parsing, limits, normalisation and
//! migration), [`store`] (the file on disk).

pub mod parse;
pub mod schema;
pub mod store;

pub use parse::{Strictness, normalize_remote, normalize_value, parse_text};
pub use schema::{AgentEntry, AllowlistEntry, ApprovalsFile, PolicyFields, SocketConfig};
pub use store::*;
