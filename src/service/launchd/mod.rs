//! macOS: a LaunchAgent driven with `launchctl`.
//!
//! Same layout as [`super::systemd`], one file per role:
//! - [`plist`]: the service file format: the plist renderer and the reader of the
//!   `ProgramArguments`/`EnvironmentVariables` of a plist we wrote (pure; built and tested on
//!   every platform). It is named after what it holds (a plist; `systemd::unit` for a unit); the
//!   other two roles share their names.
//! - [`ctl`]: the `launchctl` driver (used on macOS only).
//! - [`backend`]: the [`super::ops::Backend`] built on the two (selected on macOS only).
//!
//! Secrets never go into the plist (see [`plist`]).

pub mod backend;
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
pub mod ctl;
pub mod plist;
