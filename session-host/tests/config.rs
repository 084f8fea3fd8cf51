//! Configuration from the environment. Each case runs in a child process (this test binary,
//! re-run on one test) so the environment can be set without touching this process's own.

use std::process::Command;

const CHILD: &str = "WAGATE_CONFIG_CHILD";
const VARS: [&str; 9] = [
    "SEND_MIN_GAP_MS",
    "SEND_JITTER_MS",
    "SEND_MAX_ATTEMPTS",
    "SESSION_START_SPACING_MS",
    "AUTOREPLY_PING_PONG",
    "SIM_QR_INTERVAL_MS",
    "WEBHOOK_DEFAULT_URL",
    "WEBHOOK_DEFAULT_SECRET",
    "WEBHOOK_MAX_ATTEMPTS",
];

/// Runs `child_reads_the_environment` with exactly `vars` set; returns what it printed.
fn read_config(vars: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child_reads_the_environment", "--nocapture"])
        .env(CHILD, "1");
    for v in VARS {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().copied());
    let out = cmd.output().expect("run the child");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn child_reads_the_environment() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    match wagate_host::HostConfig::from_env() {
        Ok(c) => println!("HOST {c:?}"),
        Err(e) => println!("HOST-ERROR {e:#}"),
    }
    match wagate_core::dispatch::DispatchConfig::from_env() {
        Ok(c) => println!("DISPATCH {c:?}"),
        Err(e) => println!("DISPATCH-ERROR {e:#}"),
    }
}

#[test]
fn unset_variables_give_the_documented_defaults() {
    let out = read_config(&[]);

    assert!(out.contains("send_min_gap: 1s"), "{out}");
    assert!(out.contains("send_jitter: 500ms"), "{out}");
    assert!(out.contains("send_max_attempts: 5"), "{out}");
    assert!(out.contains("session_start_spacing: 250ms"), "{out}");
    assert!(out.contains("autoreply_ping_pong: true"), "{out}");
    assert!(out.contains("sim_qr_interval: 20s"), "{out}");
    assert!(out.contains("default_target: None"), "{out}");
    assert!(out.contains("max_attempts: 8"), "{out}");
}

#[test]
fn set_variables_are_read() {
    let out = read_config(&[
        ("SEND_MIN_GAP_MS", "5"),
        ("SEND_JITTER_MS", "0"),
        ("SEND_MAX_ATTEMPTS", "2"),
        ("SESSION_START_SPACING_MS", "7"),
        ("AUTOREPLY_PING_PONG", "off"),
        ("SIM_QR_INTERVAL_MS", "1500"),
        ("WEBHOOK_DEFAULT_URL", "http://127.0.0.1:9/hook"),
        ("WEBHOOK_DEFAULT_SECRET", "s3cret"),
        ("WEBHOOK_MAX_ATTEMPTS", "3"),
    ]);

    assert!(out.contains("send_min_gap: 5ms"), "{out}");
    assert!(out.contains("send_jitter: 0ns"), "{out}");
    assert!(out.contains("send_max_attempts: 2"), "{out}");
    assert!(out.contains("session_start_spacing: 7ms"), "{out}");
    assert!(out.contains("autoreply_ping_pong: false"), "{out}");
    assert!(out.contains("sim_qr_interval: 1.5s"), "{out}");
    assert!(out.contains("http://127.0.0.1:9/hook"), "{out}");
    assert!(out.contains("max_attempts: 3"), "{out}");
    assert!(!out.contains("s3cret"), "secrets stay out of Debug: {out}");
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
    ] {
        let out = read_config(&[(name, value)]);
        let line = out
            .lines()
            .find(|l| l.starts_with("HOST-ERROR"))
            .unwrap_or_else(|| panic!("{name}={value} accepted: {out}"));
        assert!(line.contains(name), "{line}");
    }
    for (name, value) in [
        ("WEBHOOK_MAX_ATTEMPTS", "many"),
        ("WEBHOOK_DEFAULT_URL", "ftp://example.com"),
    ] {
        let out = read_config(&[(name, value)]);
        let line = out
            .lines()
            .find(|l| l.starts_with("DISPATCH-ERROR"))
            .unwrap_or_else(|| panic!("{name}={value} accepted: {out}"));
        assert!(line.contains(name), "{line}");
    }
}
