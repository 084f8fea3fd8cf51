//! wagate-core: everything the API, the session host and the webhook dispatcher share.
//!
//! The domain (`domain`) does no I/O; the ports (`ports`) are the traits every storage backend
//! implements (the embedded one in `wagate-local`, the AWS one in `wagate-aws`); `policy` turns
//! the store's atomic counters into rate limits, quotas and cooldowns; `webhook` signs events
//! and `dispatch` delivers them; `backoff` paces everything that tries again.

pub mod aws_names;
pub mod backoff;
pub mod clock;
pub mod connection_history;
pub mod dead_sends;
pub mod dispatch;
pub mod domain;
pub mod inbound_media;
pub mod job_delivery;
pub mod measure;
pub mod policy;
pub mod ports;
pub mod simulator;
pub mod unstarted;
pub mod webhook;

pub use domain::*;
