//! wagate-core: everything the API, the session host and the webhook dispatcher share.
//!
//! The domain (`domain`) does no I/O; the ports (`ports`) are the traits every storage backend
//! implements; `policy` turns the store's atomic counters into rate limits, quotas and cooldowns;
//! `webhook` signs and delivers events; `adapters::local` is the embedded backend of
//! `wagate local` (one SQLite file plus a directory of blobs).

pub mod adapters;
pub mod clock;
pub mod contract;
pub mod dead_sends;
pub mod dispatch;
pub mod domain;
pub mod env;
pub mod policy;
pub mod ports;
pub mod webhook;

pub use domain::*;
