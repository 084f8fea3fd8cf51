//! wagate HTTP API.
