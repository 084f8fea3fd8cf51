//! The webhook dispatcher: events queue → signed POST → ack, retry or dead letter.
