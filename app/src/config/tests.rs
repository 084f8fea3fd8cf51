//! Configuration from a map of variables: defaults, values read, malformed values refused
//! with the variable's name.

use std::collections::HashMap;
use std::time::Duration;

use super::Config;

fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(&|name| map.get(name).cloned())
}

#[test]
fn unset_variables_give_the_documented_defaults() {
    let c = config(&[]).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:4000");
    assert_eq!(c.data_dir.to_str(), Some("./data"));
    assert_eq!(c.host.send_min_gap, Duration::from_secs(1));
    assert_eq!(c.host.send_jitter, Duration::from_millis(500));
    assert_eq!(c.host.send_max_attempts, 5);
    assert_eq!(c.host.session_start_spacing, Duration::from_millis(250));
    assert!(c.host.autoreply_ping_pong);
    assert_eq!(c.host.sim_qr_interval, Duration::from_secs(20));
    assert_eq!(c.host.host_id, "local");
    assert!(!c.host_id_given);
    assert_eq!(c.dispatch.default_target, None);
    assert_eq!(c.dispatch.max_attempts, 8);
    assert_eq!(c.api.rate_limit.max, 100);
    assert_eq!(c.api.rate_limit.window_ms, 60_000);
    assert_eq!(c.api.media.caps, wagate_core::MediaCaps::default());
    assert_eq!(c.connector, wagate_host::connector::ConnectorKind::WhatsApp);
    assert_eq!(c.media_retention, Duration::from_secs(7 * 86_400));
    assert_eq!(c.aws.table, "wagate");
    assert_eq!(c.aws.queue_prefix, "wagate-");
    assert_eq!(c.host_health_port, 4001);
    assert!(!c.log_json && !c.under_lambda);
}

#[test]
fn set_variables_are_read() {
    let c = config(&[
        ("PORT", "4100"),
        ("HOST", "127.0.0.1"),
        ("SEND_MIN_GAP_MS", "5"),
        ("SEND_JITTER_MS", "0"),
        ("SEND_MAX_ATTEMPTS", "2"),
        ("SESSION_START_SPACING_MS", "7"),
        ("AUTOREPLY_PING_PONG", "off"),
        ("SIM_QR_INTERVAL_MS", "1500"),
        ("HOST_ID", "h1"),
        ("WEBHOOK_DEFAULT_URL", "http://127.0.0.1:9/hook"),
        ("WEBHOOK_DEFAULT_SECRET", "s3cret"),
        ("WEBHOOK_MAX_ATTEMPTS", "3"),
        ("MEDIA_MAX_IMAGE_BYTES", "1234"),
        ("MEDIA_MAX_STICKER_BYTES", "99"),
        ("WA_CONNECTOR", "simulated"),
        ("HTTPS_PROXY", "http://proxy.example:3128"),
        ("WAGATE_TABLE", "t"),
        ("JOB_TTL_DAYS", "3"),
        ("RETENTION_INTERVAL_SECS", "60"),
        ("REJECT_CALLS", "true"),
        (
            "REJECT_CALL_MESSAGE",
            "Sorry, we cannot take calls; please write.",
        ),
        ("RUST_LOG_FORMAT", "JSON"),
        ("SEND_VISIBILITY_MS", "5000"),
    ])
    .unwrap();
    assert_eq!(c.host.send_visibility, Duration::from_secs(5));
    assert_eq!(c.listen.to_string(), "127.0.0.1:4100");
    assert_eq!(c.host.send_min_gap, Duration::from_millis(5));
    assert_eq!(c.host.send_jitter, Duration::ZERO);
    assert_eq!(c.host.send_max_attempts, 2);
    assert_eq!(c.host.session_start_spacing, Duration::from_millis(7));
    assert!(!c.host.autoreply_ping_pong);
    assert_eq!(c.host.sim_qr_interval, Duration::from_millis(1500));
    assert_eq!(c.host.host_id, "h1");
    assert!(c.host_id_given);
    let target = c.dispatch.default_target.clone().unwrap();
    assert_eq!(target.url, "http://127.0.0.1:9/hook");
    assert_eq!(target.secret.as_deref(), Some("s3cret"));
    assert_eq!(c.dispatch.max_attempts, 3);
    assert_eq!(c.api.media.caps.image, 1234);
    assert_eq!(c.api.media.caps.sticker, 99);
    assert_eq!(
        c.connector,
        wagate_host::connector::ConnectorKind::Simulated
    );
    assert!(c.https_proxy.is_some());
    assert_eq!(c.aws.table, "t");
    assert_eq!(c.aws.job_ttl_days, Some(3));
    assert_eq!(c.retention_interval, Duration::from_secs(60));
    assert!(c.host.reject_calls);
    assert_eq!(
        c.host.reject_call_message.as_deref(),
        Some("Sorry, we cannot take calls; please write.")
    );
    assert!(c.log_json);
    let debug = format!("{:?}", c.dispatch);
    assert!(
        !debug.contains("s3cret"),
        "secrets stay out of Debug: {debug}"
    );
}

#[test]
fn a_malformed_variable_is_an_error_naming_it() {
    for (name, value) in [
        ("SEND_MIN_GAP_MS", "soon"),
        ("SEND_JITTER_MS", "-1"),
        ("SEND_MAX_ATTEMPTS", "0"),
        ("SESSION_START_SPACING_MS", "1.5"),
        ("AUTOREPLY_PING_PONG", "maybe"),
        ("SIM_QR_INTERVAL_MS", "20s"),
        ("WEBHOOK_MAX_ATTEMPTS", "many"),
        ("WEBHOOK_DEFAULT_URL", "ftp://example.com"),
        ("PORT", "70000"),
        ("RATE_LIMIT_MAX", "lots"),
        ("MEDIA_MAX_VIDEO_BYTES", "-5"),
        ("MEDIA_ALLOW_PRIVATE", "not an address/99"),
        ("WA_CONNECTOR", "carrier-pigeon"),
        ("HTTPS_PROXY", "socks5://proxy:1080"),
        ("JOB_TTL_DAYS", "forever"),
        ("MEDIA_RETENTION_DAYS", "18446744073709551615"),
        ("RATE_LIMIT_WINDOW_MS", "9223372036854775807"),
        ("RATE_LIMIT_MAX", "0"),
        ("QUOTA_WINDOW_MS", "10"),
        ("SPAM_COOLDOWN_MS", "-5"),
        ("RETENTION_INTERVAL_SECS", "9"),
        ("RETENTION_INTERVAL_SECS", "86401"),
        ("REJECT_CALLS", "sometimes"),
        ("SEND_VISIBILITY_MS", "2999"),
        ("SEND_VISIBILITY_MS", "43200001"),
    ] {
        let err = match config(&[(name, value)]) {
            Ok(_) => panic!("{name}={value} accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(name), "{name}={value}: {err}");
    }
}

#[test]
fn the_seed_servers_names_are_read_when_ours_are_unset() {
    let c = config(&[("QUOTA_MAX", "77"), ("AUTOREPLY_ENABLED", "false")]).unwrap();
    assert_eq!(c.api.quota.limit, 77);
    assert!(!c.host.autoreply_ping_pong);
    // Ours win when both are given.
    let c = config(&[("QUOTA_MAX", "77"), ("QUOTA_LIMIT", "88")]).unwrap();
    assert_eq!(c.api.quota.limit, 88);
    let err = format!("{:#}", config(&[("QUOTA_MAX", "lots")]).unwrap_err());
    assert!(err.contains("QUOTA_MAX"), "{err}");
}

#[test]
fn blank_values_count_as_unset() {
    let c = config(&[("PORT", "  "), ("DATA_DIR", "")]).unwrap();
    assert_eq!(c.listen.port(), 4000);
    assert_eq!(c.data_dir.to_str(), Some("./data"));
}

#[test]
fn received_media_settings_are_read_and_bounded() {
    use wagate_core::inbound_media::InboundMediaMode;
    let c = config(&[]).unwrap();
    assert_eq!(c.host.inbound_media, InboundMediaMode::Auto);
    assert_eq!(c.host.media_url_ttl, Duration::from_secs(3600));
    assert_eq!(c.host.public_url, "http://localhost:4000");
    assert_eq!(c.host.inbound_caps.video, 100 * 1024 * 1024);
    let c = config(&[
        ("INBOUND_MEDIA", "on-request"),
        ("MEDIA_URL_TTL_SECS", "600"),
        ("PORT", "8080"),
        ("INBOUND_MEDIA_MAX_VIDEO_BYTES", "1000"),
        ("MEDIA_WAIT_MS", "2000"),
    ])
    .unwrap();
    assert_eq!(c.host.inbound_media, InboundMediaMode::OnRequest);
    assert_eq!(c.host.media_url_ttl, Duration::from_secs(600));
    assert_eq!(c.api.media_url_ttl, Duration::from_secs(600));
    assert_eq!(c.api.media_wait_ms, 2000);
    assert_eq!(c.host.public_url, "http://localhost:8080");
    assert_eq!(c.host.inbound_caps.video, 1000);
    let c = config(&[("PUBLIC_URL", "https://wa.example.com/")]).unwrap();
    assert_eq!(c.host.public_url, "https://wa.example.com");
    for (name, value) in [
        ("INBOUND_MEDIA", "sometimes"),
        ("MEDIA_URL_TTL_SECS", "0"),
        ("MEDIA_URL_TTL_SECS", "604801"),
        ("INBOUND_MEDIA_MAX_IMAGE_BYTES", "-1"),
    ] {
        let err = config(&[(name, value)]).unwrap_err().to_string();
        assert!(err.contains(name), "{name}={value}: {err}");
    }
}
