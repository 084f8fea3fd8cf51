//! `wagate local` as a child process, for the tests that kill it, restart it or measure its
//! memory. The binary's path comes from the test (`env!("CARGO_BIN_EXE_wagate")`, known only
//! to the crate that builds it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::net::free_port;

/// A running `wagate local` on the simulated network, killed when dropped.
#[derive(Debug)]
pub struct LocalProcess {
    pub child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
}

impl LocalProcess {
    /// Starts `exe local` on a free loopback port with `DATA_DIR=data_dir`, the admin key
    /// `admin_key`, the simulated network and `extra` variables, with a clean environment
    /// (only `PATH` is kept); waits until `/health/live` answers.
    pub async fn start(
        exe: &Path,
        data_dir: &Path,
        admin_key: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let child = Command::new(exe)
            .arg("local")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATA_DIR", data_dir)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .env("ADMIN_API_KEY", admin_key)
            .env("WA_CONNECTOR", "simulated")
            .env("RUST_LOG", "warn")
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start wagate local");
        let process = Self {
            child,
            port,
            data_dir: data_dir.to_owned(),
        };
        process.wait_live().await;
        process
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, for `/proc/PID/*`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn wait_live(&self) {
        for _ in 0..300 {
            if live(self.port).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("wagate local did not come up on port {}", self.port);
    }
}

impl Drop for LocalProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `GET /health/live` answers 200 (a bare HTTP/1.1 request; no client library needed).
async fn live(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.is_ok() && head.ends_with(b"200")
}

/// A `/proc/PID/status` field in bytes (`VmRSS:`, `VmHWM:`, …).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("{field} not in /proc/{pid}/status"))
}
