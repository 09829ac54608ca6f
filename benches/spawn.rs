//! Spawn + wait of `/bin/true`: plain `std::process::Command` vs the launcher's profiles.
fn main() {}
