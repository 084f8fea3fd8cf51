//! Peak memory of sticker conversion under decompression bombs: `cargo run --release -p
//! wagate-media --features images --example bomb_rss`. Sixteen conversions at once of (a) PNGs that declare
//! 60000×60000 pixels and (b) PNGs at the pixel cap whose data inflates to all of it
//! (4096×2048 RGBA of zeros: a few hundred KB on the wire, 32 MiB decoded); prints the process's peak RSS
//! growth (VmHWM, reset before each run through /proc/self/clear_refs).

use std::io::Cursor;

use wagate_media::sticker;

fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A real PNG of `w`×`h` transparent pixels: tiny compressed, whole when decoded.
fn zero_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::new(w, h);
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// A PNG header declaring `w`×`h` (the rest is a stub: it is refused from the header).
fn declared_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = zero_png(1, 1);
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    png
}

async fn run(name: &str, input: Vec<u8>) {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = vm_kib("VmRSS:");
    let tasks: Vec<_> = (0..16)
        .map(|_| tokio::spawn(sticker::convert_queued(input.clone(), 100 * 1024)))
        .collect();
    let mut refused = 0;
    for t in tasks {
        if t.await.expect("task").is_err() {
            refused += 1;
        }
    }
    let peak = vm_kib("VmHWM:");
    println!(
        "{name}: {} bytes each, 16 at once, {refused} refused; peak RSS growth {:.1} MiB",
        input.len(),
        peak.saturating_sub(before) as f64 / 1024.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    run("declares 60000x60000", declared_png(60_000, 60_000)).await;
    run("4096x2048 of zeros (at the cap)", zero_png(4096, 2048)).await;
}
