//! wagate's media pipeline, shared by every entry point that takes media: URLs fetched
//! without reaching private networks, uploads streamed into the blob store with their type
//! read from the bytes and their size capped as they flow, and images turned into stickers.

pub mod address;
pub mod config;
pub mod fetch;
pub mod ingest;
pub mod sniff;
#[cfg(feature = "images")]
pub mod sticker;

pub use address::AllowList;
pub use config::MediaConfig;
pub use fetch::{FetchError, Fetcher};
pub use ingest::{IngestError, Ingested, ingest};
