//! A 50 MiB video received by a real `wagate local` process on the simulated network: stored
//! intact (the stored file's hash is the record's), with the process's peak RSS growth during
//! the download read from `/proc` (the kernel's high-water mark, reset just before). The
//! figure for docs/benchmarks.md: `cargo test --release -p wagate --test inbound_memory --
//! --nocapture`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wagate_testkit::{LocalProcess, proc_status};

const KEY: &str = "inbound-memory-admin-key-0123";
const VIDEO_BYTES: u64 = 50 * 1024 * 1024;

/// The media record of the one message received under `dir`, once it is final.
fn final_record(dir: &Path) -> Option<(PathBuf, Value)> {
    let entry = std::fs::read_dir(dir).ok()?.flatten().next()?;
    let rec: Value =
        serde_json::from_slice(&std::fs::read(entry.path().join("record.json")).ok()?).ok()?;
    (rec["status"] != "available").then(|| (entry.path(), rec))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_video_is_received_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let p = LocalProcess::start(
        Path::new(env!("CARGO_BIN_EXE_wagate")),
        dir.path(),
        KEY,
        &[("INBOUND_MEDIA", "auto")],
    )
    .await;
    let base = format!("http://127.0.0.1:{}", p.port);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .header("x-api-key", KEY)
            .json(&body)
            .send()
    };
    let st = post("/api/sessions", json!({ "sessionId": "big" }))
        .await
        .unwrap()
        .status();
    assert_eq!(st.as_u16(), 201);
    let wait_for = |status: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            for _ in 0..100 {
                let s: Value = http
                    .get(format!("{base}/api/sessions/big"))
                    .header("x-api-key", KEY)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if s["status"] == status {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the session never got {status}");
        }
    };
    wait_for("qr").await;
    post("/api/dev/sessions/big/scan", json!({})).await.unwrap();
    wait_for("open").await;

    let pid = p.pid();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = proc_status(pid, "VmRSS:");
    let video = json!({ "kind": "media", "mediaKind": "video", "mimetype": "video/mp4",
                        "size": VIDEO_BYTES, "seconds": 300 });
    let resp = post(
        "/api/dev/sessions/big/incoming",
        json!({ "from": "628555000111", "content": video, "media": { "size": VIDEO_BYTES } }),
    )
    .await
    .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let media_dir = dir.path().join("blobs/media/in/big");
    let mut done = None;
    for _ in 0..600 {
        done = final_record(&media_dir);
        if done.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (path, rec) = done.expect("the video's download finished");
    let peak = proc_status(pid, "VmHWM:");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "50 MiB received video: RSS before {} KiB, peak {} KiB, growth {} KiB",
        before / 1024,
        peak / 1024,
        growth / 1024
    );
    assert_eq!(rec["status"], "stored", "{rec}");
    let file = std::fs::read(path.join("file")).unwrap();
    assert_eq!(file.len() as u64, VIDEO_BYTES);
    assert_eq!(rec["sha256"], hex::encode(Sha256::digest(&file)));
    assert!(
        growth < 32 * 1024 * 1024,
        "peak RSS grew by {} MiB",
        growth / (1024 * 1024)
    );
}
