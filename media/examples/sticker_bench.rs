//! Times sticker conversion on the files in a directory (made by `--make`), the same inputs
//! `scripts/bench-sticker/sharp.mjs` converts with sharp, so both land in one table.
//!
//! `cargo run --release -p wagate-media --features images --example sticker_bench -- --make DIR`
//! `cargo run --release -p wagate-media --features images --example sticker_bench -- DIR [RUNS]`

use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// One step of a 32-bit xorshift generator.
fn xorshift(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// Photo-like content: smooth gradients with a little deterministic grain.
fn grain(seed: u32) -> impl FnMut() -> i32 {
    let mut x = seed.max(1);
    move || {
        x = xorshift(x);
        (x >> 28) as i32 - 8
    }
}

fn make(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut g = grain(3);
    let png = RgbaImage::from_fn(1024, 1024, |x, y| {
        let d = ((x as i32 - 512).pow(2) + (y as i32 - 512).pow(2)) as f32;
        let alpha = if d < 480.0 * 480.0 { 255 } else { 0 };
        let mut c = |v: i32| (v + g()).clamp(0, 255) as u8;
        Rgba([
            c((x / 4) as i32),
            c((y / 4) as i32),
            c(((x + y) / 8) as i32),
            alpha,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgba8(png)
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    std::fs::write(dir.join("1024x1024.png"), out.into_inner()).unwrap();
    let mut g = grain(5);
    let jpeg = RgbImage::from_fn(4000, 3000, |x, y| {
        let mut c = |v: i32| (v + g()).clamp(0, 255) as u8;
        Rgb([
            c((x / 16) as i32),
            c((y / 12) as i32),
            c(((x + 2 * y) / 40) as i32),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(jpeg)
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    std::fs::write(dir.join("4000x3000.jpg"), out.into_inner()).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--make") {
        make(Path::new(&args[1]));
        return;
    }
    let dir = Path::new(args.first().expect("usage: sticker_bench DIR [RUNS]"));
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(30);
    for name in ["1024x1024.png", "4000x3000.jpg"] {
        let input = std::fs::read(dir.join(name)).unwrap();
        // One warm-up run, as the sharp script does.
        let first = wagate_media::sticker::convert(&input, 100 * 1024).unwrap();
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let s = wagate_media::sticker::convert(&input, 100 * 1024).unwrap();
                std::hint::black_box(s);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "wagate {name}: median {:.1} ms, min {:.1} ms ({} runs, {} bytes at quality {})",
            times[times.len() / 2],
            times[0],
            runs,
            first.webp.len(),
            first.quality
        );
    }
}
