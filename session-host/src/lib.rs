//! wagate session host.
