//! wagate's one configuration, and the only place it reads its variables (the seed server's
//! names, so an existing `.env` keeps working; `docs/configuration.md` lists each one). Every
//! command builds the same [`Config`] from a lookup function: the process environment in
//! production, a map in tests.

mod vars;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use wagate_core::aws_names::AwsNames;
use wagate_core::dispatch::DispatchConfig;
use wagate_core::inbound_media::InboundMediaMode;
use wagate_core::policy::{Quota, RateLimit, check_cooldown_ms};
use wagate_core::webhook::Target;
use wagate_core::{MediaCaps, ProxyUrl};
use wagate_functions::ApiConfig;
use wagate_host::HostConfig;
use wagate_host::connector::ConnectorKind;
use wagate_media::{AllowList, MediaConfig};

pub use vars::Vars;

/// Everything any `wagate` command or Lambda function is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATA_DIR`: the database file, blobs, credentials, the simulated network's log.
    pub data_dir: PathBuf,
    /// `HOST` and `PORT`: where the API listens (`wagate local`, `wagate api`, and the
    /// Lambda binaries when run outside Lambda).
    pub listen: SocketAddr,
    pub api: ApiConfig,
    /// The session host's settings; `host_id` is `HOST_ID` or `local`.
    pub host: HostConfig,
    /// `HOST_ID` was set (otherwise `wagate host` picks a random one).
    pub host_id_given: bool,
    pub dispatch: DispatchConfig,
    /// `WA_CONNECTOR`: WhatsApp (default) or the simulated network.
    pub connector: ConnectorKind,
    /// `HTTPS_PROXY` (or `https_proxy`): the WhatsApp connection's proxy for sessions with
    /// none of their own.
    pub https_proxy: Option<ProxyUrl>,
    /// `SQLITE_SYNC_FULL`: fsync every commit (survives power loss, not only crashes).
    pub sqlite_sync_full: bool,
    /// `MEDIA_RETENTION_DAYS`: `wagate local` deletes media older than this (the cloud's
    /// bucket lifecycle rule does the same).
    pub media_retention: Duration,
    /// `RETENTION_INTERVAL_SECS`: how often `wagate local` runs its retention sweeps (10 s … 1
    /// day; default hourly).
    pub retention_interval: Duration,
    /// The AWS resources' names (`WAGATE_*`, `AWS_ENDPOINT_URL`, `JOB_TTL_DAYS`, …).
    pub aws: AwsNames,
    /// `HOST_DISPATCH_WEBHOOKS`: `wagate host` also delivers webhooks.
    pub host_dispatch_webhooks: bool,
    /// `API_DISPATCH_WEBHOOKS`: `wagate api` also delivers webhooks, and then serves the live
    /// channel (Socket.IO) with the events it delivers.
    pub api_dispatch_webhooks: bool,
    /// `HOST_HEALTH_PORT`: `wagate host`'s `GET /health`.
    pub host_health_port: u16,
    /// `RUST_LOG_FORMAT=json`, or running on Lambda: logs as JSON lines.
    pub log_json: bool,
    /// `AWS_LAMBDA_RUNTIME_API` is set: the Lambda binaries serve the runtime, not HTTP.
    pub under_lambda: bool,
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// From any lookup; unset variables keep their defaults, malformed ones are an error
    /// naming the variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let v = Vars::new(lookup);
        let host_id = v.get("HOST_ID");
        let retention_days: u64 = v.parsed("MEDIA_RETENTION_DAYS", 7)?;
        Ok(Self {
            data_dir: v.get("DATA_DIR").unwrap_or_else(|| "./data".into()).into(),
            listen: SocketAddr::new(
                v.parsed("HOST", IpAddr::from(Ipv4Addr::UNSPECIFIED))?,
                v.parsed("PORT", 4000)?,
            ),
            api: api(&v)?,
            host: HostConfig {
                host_id: host_id.clone().unwrap_or_else(|| "local".into()),
                ..host(&v)?
            },
            host_id_given: host_id.is_some(),
            dispatch: dispatch(&v)?,
            connector: match v.get("WA_CONNECTOR") {
                Some(raw) => ConnectorKind::parse(&raw)?,
                None => ConnectorKind::WhatsApp,
            },
            https_proxy: v
                .get("HTTPS_PROXY")
                .or_else(|| v.get("https_proxy"))
                .map(|p| ProxyUrl::parse(&p, "HTTPS_PROXY"))
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            sqlite_sync_full: v.flag("SQLITE_SYNC_FULL", false)?,
            media_retention: Duration::from_secs(
                retention_days
                    .checked_mul(86_400)
                    .context("MEDIA_RETENTION_DAYS is too large")?,
            ),
            retention_interval: {
                let secs: u64 = v.parsed("RETENTION_INTERVAL_SECS", 3600)?;
                anyhow::ensure!(
                    (10..=86_400).contains(&secs),
                    "environment variable RETENTION_INTERVAL_SECS must be 10 … 86400"
                );
                Duration::from_secs(secs)
            },
            aws: aws(&v)?,
            host_dispatch_webhooks: v.flag("HOST_DISPATCH_WEBHOOKS", false)?,
            api_dispatch_webhooks: v.flag("API_DISPATCH_WEBHOOKS", false)?,
            host_health_port: v.parsed("HOST_HEALTH_PORT", 4001)?,
            log_json: v
                .get("RUST_LOG_FORMAT")
                .is_some_and(|f| f.eq_ignore_ascii_case("json"))
                || v.get("AWS_LAMBDA_FUNCTION_NAME").is_some(),
            under_lambda: v.get("AWS_LAMBDA_RUNTIME_API").is_some(),
        })
    }
}

fn api(v: &Vars<'_>) -> anyhow::Result<ApiConfig> {
    let d = ApiConfig::default();
    let api = ApiConfig {
        admin_key: v.get("ADMIN_API_KEY"),
        user_keys: v.list("USER_API_KEYS"),
        rate_limit: RateLimit {
            window_ms: v.parsed("RATE_LIMIT_WINDOW_MS", d.rate_limit.window_ms)?,
            max: v.parsed("RATE_LIMIT_MAX", d.rate_limit.max)?,
        },
        quota: Quota {
            limit: v.parsed(v.or_alias("QUOTA_LIMIT", "QUOTA_MAX"), d.quota.limit)?,
            window_ms: v.parsed("QUOTA_WINDOW_MS", d.quota.window_ms)?,
        },
        cooldown_ms: v.parsed("SPAM_COOLDOWN_MS", d.cooldown_ms)?,
        sessions_per_key: v.parsed("SESSIONS_PER_KEY", d.sessions_per_key)?,
        auth_failures: RateLimit {
            window_ms: v.parsed("AUTH_FAILURES_WINDOW_MS", d.auth_failures.window_ms)?,
            max: v.parsed("AUTH_FAILURES_MAX", d.auth_failures.max)?,
        },
        allowed_origins: v.list("ALLOWED_ORIGINS"),
        max_json_bytes: v.parsed("MAX_JSON_BODY_BYTES", d.max_json_bytes)?,
        max_upload_bytes: v.parsed("MAX_UPLOAD_BYTES", d.max_upload_bytes)?,
        dev_routes: v.flag("DEV_ROUTES", d.dev_routes)?,
        pair_code_wait_ms: v.parsed("PAIR_CODE_WAIT_MS", d.pair_code_wait_ms)?,
        media_wait_ms: v.parsed("MEDIA_WAIT_MS", d.media_wait_ms)?.min(25_000),
        query_wait_ms: v.parsed("QUERY_WAIT_MS", d.query_wait_ms)?.min(25_000),
        media_url_ttl: media_url_ttl(v)?,
        media: media(v)?,
        public_url: v
            .get("PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned()),
    };
    let bounded = |vars: &str, check: Result<(), String>| {
        check.map_err(|e| anyhow::anyhow!("environment variables {vars}: {e}"))
    };
    bounded(
        "RATE_LIMIT_WINDOW_MS / RATE_LIMIT_MAX",
        api.rate_limit.check(),
    )?;
    bounded("QUOTA_LIMIT / QUOTA_WINDOW_MS", api.quota.check())?;
    bounded("SPAM_COOLDOWN_MS", check_cooldown_ms(api.cooldown_ms))?;
    bounded(
        "SESSIONS_PER_KEY",
        wagate_functions::settings::check_sessions_per_key(api.sessions_per_key),
    )?;
    bounded(
        "AUTH_FAILURES_WINDOW_MS / AUTH_FAILURES_MAX",
        api.auth_failures.check(),
    )?;
    Ok(api)
}

fn media(v: &Vars<'_>) -> anyhow::Result<MediaConfig> {
    let d = MediaConfig::default();
    Ok(MediaConfig {
        caps: caps(v, "MEDIA", d.caps)?,
        fetch_timeout: v.millis("MEDIA_FETCH_TIMEOUT_MS", d.fetch_timeout)?,
        max_redirects: v.parsed("MEDIA_MAX_REDIRECTS", d.max_redirects)?,
        allow: AllowList::parse(&v.list("MEDIA_ALLOW_PRIVATE"))
            .map_err(|e| anyhow::anyhow!("environment variable MEDIA_ALLOW_PRIVATE: {e}"))?,
        ..d
    })
}

/// `{prefix}_MAX_{IMAGE,VIDEO,AUDIO,DOCUMENT,STICKER}_BYTES` over `d`.
fn caps(v: &Vars<'_>, prefix: &str, d: MediaCaps) -> anyhow::Result<MediaCaps> {
    let cap = |kind: &str, default: u64| v.parsed(&format!("{prefix}_MAX_{kind}_BYTES"), default);
    Ok(MediaCaps {
        image: cap("IMAGE", d.image)?,
        video: cap("VIDEO", d.video)?,
        audio: cap("AUDIO", d.audio)?,
        document: cap("DOCUMENT", d.document)?,
        sticker: cap("STICKER", d.sticker)?,
    })
}

fn host(v: &Vars<'_>) -> anyhow::Result<HostConfig> {
    let d = HostConfig::default();
    Ok(HostConfig {
        send_min_gap: v.millis("SEND_MIN_GAP_MS", d.send_min_gap)?,
        send_jitter: v.millis("SEND_JITTER_MS", d.send_jitter)?,
        send_max_attempts: v.at_least_one("SEND_MAX_ATTEMPTS", d.send_max_attempts)?,
        session_start_spacing: v.millis("SESSION_START_SPACING_MS", d.session_start_spacing)?,
        autoreply_ping_pong: v.flag(
            v.or_alias("AUTOREPLY_PING_PONG", "AUTOREPLY_ENABLED"),
            d.autoreply_ping_pong,
        )?,
        reject_calls: v.flag("REJECT_CALLS", d.reject_calls)?,
        reject_call_message: match v.get("REJECT_CALL_MESSAGE") {
            Some(m) if m.len() > 4096 => {
                anyhow::bail!("environment variable REJECT_CALL_MESSAGE: at most 4096 bytes")
            }
            other => other,
        },
        sim_qr_interval: v.millis("SIM_QR_INTERVAL_MS", d.sim_qr_interval)?,
        inbound_media: match v.get("INBOUND_MEDIA") {
            Some(raw) => InboundMediaMode::parse(&raw).ok_or_else(|| {
                anyhow::anyhow!(
                    "environment variable INBOUND_MEDIA={raw:?}: expected auto, on-request or off"
                )
            })?,
            None => d.inbound_media,
        },
        inbound_caps: caps(v, "INBOUND_MEDIA", d.inbound_caps)?,
        media_url_ttl: media_url_ttl(v)?,
        public_url: public_url(v)?,
        lease_ttl: v
            .millis("LEASE_TTL_MS", d.lease_ttl)?
            .max(Duration::from_secs(3)),
        stale_after: v.millis("SESSION_STALE_MS", d.stale_after)?,
        send_visibility: send_visibility(v, d.send_visibility)?,
        ..d
    })
}

/// `SEND_VISIBILITY_MS`: how long a taken send stays hidden from other hosts (the worker
/// extends it while the send is in flight), from 3 s to SQS's limit of 12 hours. After a host
/// dies, its session's queue waits this long for the jobs it had taken.
fn send_visibility(v: &Vars<'_>, default: Duration) -> anyhow::Result<Duration> {
    let d = v.millis("SEND_VISIBILITY_MS", default)?;
    if !(Duration::from_secs(3)..=Duration::from_secs(43_200)).contains(&d) {
        anyhow::bail!("environment variable SEND_VISIBILITY_MS: 3000 … 43200000 milliseconds");
    }
    Ok(d)
}

/// `MEDIA_URL_TTL_SECS`: up to seven days (an S3 presigned URL's longest life).
fn media_url_ttl(v: &Vars<'_>) -> anyhow::Result<Duration> {
    let secs: u64 = v.parsed("MEDIA_URL_TTL_SECS", 3600)?;
    if !(1..=7 * 86_400).contains(&secs) {
        anyhow::bail!("environment variable MEDIA_URL_TTL_SECS: 1 … 604800 seconds");
    }
    Ok(Duration::from_secs(secs))
}

/// `PUBLIC_URL`, else this machine on `PORT`.
fn public_url(v: &Vars<'_>) -> anyhow::Result<String> {
    Ok(match v.get("PUBLIC_URL") {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => format!("http://localhost:{}", v.parsed::<u16>("PORT", 4000)?),
    })
}

fn dispatch(v: &Vars<'_>) -> anyhow::Result<DispatchConfig> {
    let d = DispatchConfig::default();
    let default_target = match v.get("WEBHOOK_DEFAULT_URL") {
        Some(url) => {
            wagate_core::validate_webhook_url("WEBHOOK_DEFAULT_URL", &url)
                .context("environment variable WEBHOOK_DEFAULT_URL is malformed")?;
            Some(Target {
                url: url.trim().to_owned(),
                secret: v.get("WEBHOOK_DEFAULT_SECRET"),
            })
        }
        None => None,
    };
    Ok(DispatchConfig {
        default_target,
        max_attempts: v.at_least_one("WEBHOOK_MAX_ATTEMPTS", d.max_attempts)?,
        ..d
    })
}

fn aws(v: &Vars<'_>) -> anyhow::Result<AwsNames> {
    let d = AwsNames::default();
    Ok(AwsNames {
        endpoint: v.get("AWS_ENDPOINT_URL"),
        table: v.get("WAGATE_TABLE").unwrap_or(d.table),
        job_ttl_days: v
            .get("JOB_TTL_DAYS")
            .map(|days| {
                days.trim()
                    .parse()
                    .context("JOB_TTL_DAYS must be a whole number of days")
            })
            .transpose()?,
        send_max_receives: v.parsed("SEND_DLQ_MAX_RECEIVES", d.send_max_receives)?,
        bucket: v.get("WAGATE_BUCKET").unwrap_or(d.bucket),
        queue_prefix: v.get("WAGATE_QUEUE_PREFIX").unwrap_or(d.queue_prefix),
    })
}

#[cfg(test)]
mod tests;
