//! The per-run filesystem view: every confined run gets a private mount namespace (through an
//! unprivileged user namespace when the node is not root) in which the whole tree is read-only,
//! `nosuid` and `nodev`, the run's writable roots are bound back read-write, what decides about
//! later runs stays read-only whatever the writable roots, and the node's secrets are masked.
//!
//! Two halves:
//! - [`plan_view`] (pure, in the parent): which paths are bound back read-write, which are
//!   re-bound read-only on top, which are masked. The rule (not a list) it implements:
//!   1. **protected** (read-only in every confining run, whatever the cwd and writable roots):
//!      the state dir, the service definition, the binary the node runs, every directory on the
//!      node's PATH, `sandbox.protectedPaths`, and — when a writable root is `$HOME` or contains
//!      it — `$HOME` itself and every dot-entry in it, existing or not; a protected path that is a
//!      symlink protects its target too;
//!   2. a writable directory with nothing protected below it is bound back whole; a directory
//!      with a protected path below it is either **pinned** (bound back read-write as its own
//!      mount point, so the chain down to the protected path can be neither renamed nor removed)
//!      or, when a protected name below it does not exist yet (or is reached through a symlink),
//!      **closed**: read-only, with each of its other entries bound back read-write. No
//!      placeholder is ever created on the host;
//!   3. **masked**: every pathname UNIX socket bound on the host (a run cannot connect to a
//!      socket it did not create); the state dir is covered by an empty read-only tmpfs (with `skills/` bound back
//!      read-only when present), `openclaw.json` outside it by `/dev/null` without device access;
//!      under `strict` also `/etc/shadow`, `/etc/gshadow`, `/etc/ssl/private` and the SSH host
//!      keys.
//! - [`ChildView::apply`] (in the child, before capabilities are dropped): a private mount and
//!   IPC namespace, then the mounts, with raw
//!   syscalls only (`unshare`, `open_tree(OPEN_TREE_CLONE)`, `mount_setattr(AT_RECURSIVE)`,
//!   `move_mount`), on data prepared in the parent; nothing is allocated.
//!
//! Flags are only ever *set* (read-only, nosuid, nodev), never cleared: the bound-back copies are
//! cloned from the host tree before the root is made read-only, so a mount the host has
//! read-only stays read-only in the view.

mod apply;
mod plan;

pub use apply::*;
pub use plan::*;

#[cfg(test)]
mod tests;
