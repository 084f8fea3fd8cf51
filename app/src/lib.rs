//! The wiring of wagate: configuration → adapters → the parts that run. The only crate that
//! sees every adapter and the only code that reads the environment ([`config`]).
//!
//! - [`local`]: `wagate local`, everything in one process on the embedded backend.
//! - [`host`]: `wagate host`, the session host on AWS.
//! - [`api`]: `wagate api` and the `api` Lambda, the router on AWS.
//! - [`aws`]: the AWS ports and `wagate provision`.
//! - [`lambda`]: what the Lambda bootstraps share.

pub mod api;
pub mod aws;
pub mod config;
pub mod connector;
pub mod host;
pub mod lambda;
pub mod local;
pub mod retention;
pub mod serve;
pub mod signals;
pub mod telemetry;

pub use config::Config;
