//! The `wagate` binary.
fn main() {}
