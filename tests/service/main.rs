//! Service management: `install`/`status`/`stop`/`restart`/`uninstall` and the files they
//! write. One binary (`cargo nextest run --test service`). Where a new test goes:
//!
//! | module | what it pins |
//! |---|---|
//! | [`flows`] | end-to-end flows against a fake `systemctl --user` (`support::service`) |
//! | [`unit_verify`] | the generated unit passes `systemd-analyze verify` |
//! | [`plist`] | the LaunchAgent plist is valid and reads back exactly (golden file) |
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap is a failed test"
)]

#[path = "../support/mod.rs"]
mod support;

mod flows;
mod plist;
mod unit_verify;
