//! Implementations of the ports. `local` is the embedded backend (`wagate local`).

pub mod local;
