//! One `init()` for logs: `RUST_LOG` filters (default `info`), and JSON lines when the
//! configuration says so (`RUST_LOG_FORMAT=json`, or on Lambda, where CloudWatch parses them).

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    // tracing's own reading of `RUST_LOG`: the filter syntax is its to parse.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
