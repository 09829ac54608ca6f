//! Policy enums (`security`, `ask`) and their strictness order (EA §3.1).

use std::fmt;

use serde::{Deserialize, Serialize};

/// `security`: what may run at all. Ordered `deny < allowlist < full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    Deny,
    Allowlist,
    Full,
}

/// `ask`: when a human must approve. Ordered `off < on-miss < always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Ask {
    #[serde(rename = "off")]
    Off,
    #[serde(rename = "on-miss")]
    OnMiss,
    #[serde(rename = "always")]
    Always,
}

impl Security {
    /// Parse an exact lowercase literal (after trimming), as upstream does.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "deny" => Some(Self::Deny),
            "allowlist" => Some(Self::Allowlist),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allowlist => "allowlist",
            Self::Full => "full",
        }
    }
}

impl Ask {
    /// Parse an exact lowercase literal (after trimming), as upstream does.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "off" => Some(Self::Off),
            "on-miss" => Some(Self::OnMiss),
            "always" => Some(Self::Always),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::OnMiss => "on-miss",
            Self::Always => "always",
        }
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Ask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `approvalDecision` values the node honours; anything else is treated as absent (EA §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    AllowOnce,
    AllowAlways,
}

impl ApprovalDecision {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "allow-once" => Some(Self::AllowOnce),
            "allow-always" => Some(Self::AllowAlways),
            _ => None,
        }
    }
}

/// Why a `system.run` was refused: the `exec.denied` reason on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// `security=deny` (also a file that fails closed).
    SecurityDeny,
    /// A human must approve (ask, or a binding/plan check that needs a fresh approval).
    ApprovalRequired,
    /// Allowlist mode and the command is not satisfied (ask off).
    AllowlistMiss,
    /// The approved plan no longer matches what would run.
    ExecutionPlanMiss,
    /// The run needs screen recording permission (macOS only; never granted here).
    PermissionScreenRecording,
    /// An allow-always grant could not be written: nothing runs on a grant that did not persist.
    ApprovalStateWriteFailed,
}

impl DenyReason {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecurityDeny => "security=deny",
            Self::ApprovalRequired => "approval-required",
            Self::AllowlistMiss => "allowlist-miss",
            Self::ExecutionPlanMiss => "execution-plan-miss",
            Self::PermissionScreenRecording => "permission:screenRecording",
            Self::ApprovalStateWriteFailed => "approval-state-write-failed",
        }
    }

    /// The reason a decision names (`None` for a string that is not one of them).
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::SecurityDeny,
            Self::ApprovalRequired,
            Self::AllowlistMiss,
            Self::ExecutionPlanMiss,
            Self::PermissionScreenRecording,
            Self::ApprovalStateWriteFailed,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of failure a policy operation reports; commands map it to the wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request or the file it carries is wrong (`INVALID_REQUEST`).
    InvalidRequest,
    /// The engine cannot serve it now (`UNAVAILABLE`).
    Unavailable,
    /// A lock or operation timed out (`TIMEOUT`).
    Timeout,
}

impl ErrorKind {
    /// The wire error code.
    pub fn wire_code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::Unavailable => "UNAVAILABLE",
            Self::Timeout => "TIMEOUT",
        }
    }
}
