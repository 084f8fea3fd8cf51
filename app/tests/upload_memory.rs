//! A 100 MiB multipart upload through a real `wagate local` process: stored intact (hash
//! compared), with the process's peak RSS growth measured from `/proc` (the kernel's
//! high-water mark, reset just before the upload), and a client that disconnects mid-upload
//! leaves no blob and no temp file behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wagate_testkit::{LocalProcess, proc_status};

const KEY: &str = "upload-memory-admin-key-0123";
const BOUNDARY: &str = "wagate-big-upload";
const FILE_BYTES: usize = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// `wagate local` in its own process, and the data directory it runs in.
struct Wagate {
    process: LocalProcess,
    port: u16,
    dir: tempfile::TempDir,
}

async fn start() -> Wagate {
    let dir = tempfile::tempdir().unwrap();
    let max_upload = (110 * 1024 * 1024).to_string();
    let process = LocalProcess::start(
        Path::new(env!("CARGO_BIN_EXE_wagate")),
        dir.path(),
        KEY,
        &[("MAX_UPLOAD_BYTES", max_upload.as_str())],
    )
    .await;
    let port = process.port;
    Wagate { process, port, dir }
}

/// One HTTP/1.1 request on a fresh connection; returns the status and the body.
async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    read_response(s).await
}

async fn read_response(mut s: TcpStream) -> std::io::Result<(u16, String)> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    Ok((status, body))
}

/// Deterministic incompressible-looking content that starts like a PDF.
fn file_chunk(i: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut v: Vec<u8> = (0..CHUNK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    if i == 0 {
        v[..9].copy_from_slice(b"%PDF-1.7\n");
    }
    v
}

fn form_head() -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in [("sessionId", "big"), ("to", "628123456789")] {
        h.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    h.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    h
}

fn form_tail() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

/// Starts the upload request; returns the open connection after the headers.
async fn begin_upload(port: u16, total: usize) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /api/messages/media/file HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-Key: {KEY}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {total}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

async fn create_session(port: u16) {
    let (status, body) = http(
        port,
        "POST",
        "/api/sessions",
        &[
            ("X-API-Key", KEY.into()),
            ("Content-Type", "application/json".into()),
        ],
        br#"{"sessionId":"big"}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_upload_is_stored_intact_in_bounded_memory_and_a_cut_one_leaves_nothing() {
    let w = start().await;
    create_session(w.port).await;
    let pid = w.process.pid();
    let media = w.dir.path().join("blobs").join("media");

    // A client that goes away after 10 MiB: nothing may remain.
    let total = form_head().len() + FILE_BYTES + form_tail().len();
    let mut s = begin_upload(w.port, total).await;
    s.write_all(&form_head()).await.unwrap();
    for i in 0..160 {
        s.write_all(&file_chunk(i)).await.unwrap();
    }
    drop(s);
    let mut left = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = files_under(&media);
        if left.is_empty() {
            break;
        }
    }
    assert!(left.is_empty(), "a cut upload left {left:?}");

    // Reset the high-water mark, then upload 100 MiB.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = proc_status(pid, "VmRSS:");
    let mut s = begin_upload(w.port, total).await;
    let mut hash = Sha256::new();
    s.write_all(&form_head()).await.unwrap();
    for i in 0..FILE_BYTES / CHUNK {
        let chunk = file_chunk(i);
        hash.update(&chunk);
        s.write_all(&chunk).await.unwrap();
    }
    s.write_all(&form_tail()).await.unwrap();
    let (status, body) = read_response(s).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let peak = proc_status(pid, "VmHWM:");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "100 MiB upload: RSS before {} KiB, peak {} KiB, growth {} KiB",
        before / 1024,
        peak / 1024,
        growth / 1024
    );
    assert!(
        growth < 32 * 1024 * 1024,
        "peak RSS grew by {} MiB",
        growth / (1024 * 1024)
    );

    let stored = files_under(&media);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let bytes = std::fs::read(&stored[0]).unwrap();
    assert_eq!(bytes.len(), FILE_BYTES);
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        hex::encode(hash.finalize())
    );
}
