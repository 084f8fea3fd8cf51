//! Reading configuration from environment variables, with errors that name the variable
//! (after crates.io's `crates_io_env_vars`).

use std::str::FromStr;

use anyhow::{Context, anyhow};

/// The variable's value, or `None` when unset or blank.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The variable parsed as `T`, or `default` when unset. A malformed value is an error naming
/// the variable.
pub fn var_parsed<T>(name: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("environment variable {name}={v:?} is malformed")),
    }
}

/// A boolean variable: `1/true/yes/on` or `0/false/no/off` (any case).
pub fn var_bool(name: &str, default: bool) -> anyhow::Result<bool> {
    match var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(anyhow!(
            "environment variable {name}={v:?} is malformed: expected true or false"
        )),
    }
}

/// A comma-separated list, blanks dropped.
pub fn var_list(name: &str) -> Vec<String> {
    var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
