//! Reading variables through a lookup function, with errors that name the variable (after
//! crates.io's `crates_io_env_vars`). The lookup is the process environment in production and
//! a map in tests, so configuration is tested without touching the environment.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, anyhow};

/// Variables by name; blank values count as unset.
pub struct Vars<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars").finish_non_exhaustive()
    }
}

impl<'a> Vars<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// `name`, or when it is unset the seed server's `alias` for it if that is set: the name
    /// to read (so errors name the variable that was actually given).
    pub fn or_alias<'n>(&self, name: &'n str, alias: &'n str) -> &'n str {
        if self.get(name).is_none() && self.get(alias).is_some() {
            alias
        } else {
            name
        }
    }

    /// The variable's value, or `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// The variable parsed as `T`, or `default` when unset. A malformed value is an error
    /// naming the variable.
    pub fn parsed<T>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e| anyhow!("{e}"))
                .with_context(|| format!("environment variable {name}={v:?} is malformed")),
        }
    }

    /// Whole milliseconds, or `default`.
    pub fn millis(&self, name: &str, default: Duration) -> anyhow::Result<Duration> {
        let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
        self.parsed(name, default).map(Duration::from_millis)
    }

    /// A count that must be at least 1.
    pub fn at_least_one(&self, name: &str, default: u32) -> anyhow::Result<u32> {
        let n = self.parsed(name, default)?;
        if n == 0 {
            anyhow::bail!("environment variable {name} must be at least 1");
        }
        Ok(n)
    }

    /// A boolean: `1/true/yes/on` or `0/false/no/off` (any case).
    pub fn flag(&self, name: &str, default: bool) -> anyhow::Result<bool> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(anyhow!(
                "environment variable {name}={v:?} is malformed: expected true or false"
            )),
        }
    }

    /// A comma-separated list, blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}
