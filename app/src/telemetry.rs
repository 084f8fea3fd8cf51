//! One `init()` for logs: `RUST_LOG` filters (default `info`), and JSON lines when the
//! configuration says so (`RUST_LOG_FORMAT=json`, or on Lambda, where CloudWatch parses them).
//!
//! `RUST_LOG` is read as `target=level` directives (`info`, `warn,wagate_host=debug`), the
//! syntax everyone uses, by tracing's `Targets` filter rather than its `EnvFilter`: the latter
//! also matches span fields with regular expressions, which put a regex engine (about 1 MB)
//! into every Lambda bootstrap.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub fn init(json: bool) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        tracing_subscriber::registry()
            .with(fmt.json().with_filter(filter))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .try_init()
    };
}

/// The filter `RUST_LOG` asks for; `info` when it is unset, blank or not understood (said on
/// stderr: the logger that would say it is not up yet).
fn filter(var: Option<&str>) -> Targets {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    match var.map(str::trim).filter(|v| !v.is_empty()) {
        None => default(),
        Some(v) => v.parse().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={v:?} is not target=level directives ({e}); logging at info");
            default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter;

    #[test]
    fn rust_log_sets_levels_per_target_with_info_by_default() {
        let f = filter(Some("warn,wagate_host::supervisor=debug"));
        assert!(f.would_enable("wagate_host::supervisor", &Level::DEBUG));
        assert!(!f.would_enable("wagate_host::worker", &Level::INFO));
        assert!(f.would_enable("wagate_host::worker", &Level::WARN));
        for unset in [None, Some(""), Some("  "), Some("info,=nonsense=")] {
            let f = filter(unset);
            assert!(f.would_enable("wagate", &Level::INFO), "{unset:?}");
            assert!(!f.would_enable("wagate", &Level::DEBUG), "{unset:?}");
        }
    }
}
