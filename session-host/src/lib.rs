//! wagate's session host: the WhatsApp connections of many sessions, their send workers and
//! the events they emit. It sees only the ports: `wagate local` runs it on the embedded
//! backend, `wagate host` on AWS (both wired in the `wagate` crate). The webhook dispatcher
//! that consumes the events lives in `wagate_core::dispatch`.
//!
//! - [`connector`]: the seam to WhatsApp, with the simulated network.
//! - [`supervisor`]: [`SessionHost`], one runner per session, driven by the control queue.
//! - [`runner`]: connect, follow the connection, reconnect; run the worker while open.
//! - [`worker`]: the per-session send loop.

pub mod config;
pub mod connector;
pub mod context;
pub mod deletion;
pub mod events;
pub mod incoming;
pub mod queries;
pub mod queue_gauge;
pub mod received_media;
pub mod requeue;
pub mod runner;
pub mod supervisor;
pub mod watchdog;
pub mod worker;

pub use config::HostConfig;
pub use connector::simulated::{SimOptions, SimSendRecord, read_send_log};
pub use connector::{Connection, Connector, ConnectorEvent, SimNetwork};
pub use supervisor::{HostDeps, SessionHost};
pub use worker::{Outcome, SendWorker, WorkerConfig};
