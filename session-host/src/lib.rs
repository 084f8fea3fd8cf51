//! wagate's session host: the WhatsApp connections of many sessions, their send workers and
//! the events they emit. `wagate local` and `wagate host` wire it up (`local` on the embedded backend, `cloud` on AWS); the webhook dispatcher
//! that consumes the events lives in `wagate_core::dispatch`.
//!
//! - [`connector`]: the seam to WhatsApp, with the simulated network.
//! - [`supervisor`]: [`SessionHost`], one runner per session, driven by the control queue.
//! - [`runner`]: connect, follow the connection, reconnect; run the worker while open.
//! - [`worker`]: the per-session send loop.

pub mod cloud;
pub mod config;
pub mod connector;
pub mod events;
pub mod incoming;
pub mod local;
pub mod retention;
pub mod runner;
pub mod signals;
pub mod supervisor;
pub mod worker;

pub use config::HostConfig;
pub use connector::simulated::{SimOptions, SimSendRecord, read_send_log};
pub use connector::{Connection, Connector, ConnectorEvent, SimNetwork};
pub use supervisor::{HostDeps, SessionHost};
pub use worker::{Outcome, SendWorker, WorkerConfig};
