//! Decompression bombs: small files that declare huge images are refused from their header,
//! before anything the size of the image is allocated.

use wagate_media::sticker::{self, MAX_PIXELS, StickerError};

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let mut typed = kind.to_vec();
    typed.extend_from_slice(data);
    out.extend_from_slice(&typed);
    out.extend_from_slice(&crc32(&typed).to_be_bytes());
}

/// A PNG of a few dozen bytes that declares `w`×`h` RGBA pixels (its data would inflate to
/// gigabytes).
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of a stored empty block: valid, and nothing like the declared size.
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A well-formed GIF with one 1×1 frame on a `w`×`h` screen.
fn gif_declaring(w: u16, h: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&w.to_le_bytes());
    gif.extend_from_slice(&h.to_le_bytes());
    // Global colour table of two colours, black and white.
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
    // One 1×1 frame at the origin, LZW minimum code size 2, then the trailer.
    gif.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0, b';']);
    gif
}

// A 4K screenshot stays convertible.
const _: () = assert!(3840 * 2160 <= MAX_PIXELS);

#[test]
fn huge_declared_images_are_refused_before_decoding() {
    for (name, input) in [
        ("png 100000x100000", png_declaring(100_000, 100_000)),
        ("png 10000x10000", png_declaring(10_000, 10_000)),
        ("png over the pixel cap", png_declaring(4097, 2049)),
        ("png too wide", png_declaring(20_000, 10)),
        ("gif 65535x65535", gif_declaring(65_535, 65_535)),
    ] {
        match sticker::convert(&input, 100 * 1024) {
            Err(StickerError::TooManyPixels(..)) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bombs_are_all_refused() {
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn(sticker::convert_queued(
                png_declaring(60_000, 60_000),
                102_400,
            ))
        })
        .collect();
    for t in tasks {
        assert!(matches!(
            t.await.unwrap(),
            Err(StickerError::TooManyPixels(60_000, 60_000))
        ));
    }
}
