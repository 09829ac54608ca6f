//! Linux: a systemd **user** unit driven with `systemctl --user`.
//!
//! Same layout as [`super::launchd`], one file per role:
//! - [`unit`](mod@unit): the service file format: the unit renderer and the reader of the
//!   `ExecStart=`, `Environment=` and `EnvironmentFile=` lines of a unit we wrote (pure). It is
//!   named after what it holds (a unit; `launchd::plist` for a plist); the other two roles share
//!   their names.
//! - [`ctl`]: the `systemctl --user` driver, the `loginctl` linger probe, and the diagnosis of an
//!   unreachable user manager.
//! - [`backend`]: the [`super::ops::Backend`] built on the two.

pub mod backend;
pub mod ctl;
pub mod unit;
