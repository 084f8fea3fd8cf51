//! The wiring of wagate: configuration → adapters → the parts that run. The only crate that
//! sees every adapter and the only code that reads the environment ([`config`]).
//!
//! - [`local`]: `wagate local`, everything in one process on the embedded backend.
//! - [`host`]: `wagate host`, the session host on AWS.
//! - [`api`]: `wagate api` and the `api` Lambda, the router on AWS.
//! - [`aws`]: the AWS ports and `wagate provision`.
//! - [`lambda`]: what the Lambda bootstraps share.
//!
//! The last four need the `aws` feature (the AWS SDK and the Lambda runtime).

#[cfg(feature = "aws")]
pub mod api;
#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod connector;
#[cfg(feature = "aws")]
pub mod host;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod local;
pub mod retention;
pub mod serve;
pub mod signals;
pub mod telemetry;

pub use config::Config;
