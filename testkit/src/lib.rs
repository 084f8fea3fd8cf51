//! What the tests of every wagate crate share, so no test file carries its own copy: the
//! ports' contract suites ([`contract`], run against both adapter families), a webhook
//! receiver that checks signatures ([`receiver`]), a child `wagate local` process
//! ([`process`]), free loopback ports ([`net`]) and fakes ([`fakes`]).
//!
//! A dev-dependency only: nothing here is compiled into a wagate binary.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod contract;
pub mod fakes;
pub mod net;
pub mod process;
pub mod receiver;

pub use net::free_port;
pub use process::{LocalProcess, proc_status};
pub use receiver::{Received, WebhookReceiver};
