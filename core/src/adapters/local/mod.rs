//! The embedded backend: one SQLite database file (store and queues) and a blob directory.
