//! Service management: the systemd user unit (Linux) and LaunchAgent plist (macOS) that run
//! `openclaw-node run` in the background, and `install`/`status`/`stop`/`restart`/`uninstall`.
