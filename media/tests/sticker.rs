//! Stickers from the images clients actually have: every result is a decodable 512×512 WebP
//! within the byte cap, with the aspect kept and the padding transparent.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use wagate_media::sticker::{self, SIDE, StickerError};

/// Deterministic noise: the hardest case for a size cap.
fn noise(seed: u32) -> impl FnMut() -> u8 {
    let mut x = seed.max(1);
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 24) as u8
    }
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn decode_sticker(webp: &[u8]) -> RgbaImage {
    image::load_from_memory_with_format(webp, ImageFormat::WebP)
        .unwrap()
        .into_rgba8()
}

#[test]
fn a_png_with_alpha_keeps_its_transparency_and_aspect() {
    // 1024×512, left half opaque red, right half fully transparent.
    let img = RgbaImage::from_fn(1024, 512, |x, _| {
        if x < 512 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let png = encode(DynamicImage::ImageRgba8(img), ImageFormat::Png);
    let s = sticker::convert(&png, 100 * 1024).unwrap();
    assert!(s.webp.len() <= 100 * 1024);
    let out = decode_sticker(&s.webp);
    assert_eq!(out.dimensions(), (SIDE, SIDE));
    // 2:1 becomes 512×256 centred: rows 0..128 and 384..512 are padding.
    assert_eq!(out.get_pixel(100, 10)[3], 0, "top padding is transparent");
    assert_eq!(
        out.get_pixel(100, 500)[3],
        0,
        "bottom padding is transparent"
    );
    let red = out.get_pixel(100, 256);
    assert!(red[3] > 250 && red[0] > 200 && red[1] < 60, "{red:?}");
    assert_eq!(
        out.get_pixel(400, 256)[3],
        0,
        "transparent input stays transparent"
    );
}

#[test]
fn noisy_and_large_inputs_step_the_quality_down_to_fit() {
    let mut n = noise(7);
    let img = RgbImage::from_fn(1024, 768, |_, _| Rgb([n(), n(), n()]));
    let png = encode(DynamicImage::ImageRgb8(img), ImageFormat::Png);
    let s = sticker::convert(&png, 100 * 1024).unwrap();
    assert!(s.webp.len() <= 100 * 1024, "{} bytes", s.webp.len());
    assert_eq!(decode_sticker(&s.webp).dimensions(), (SIDE, SIDE));
    // A tighter cap forces a lower quality than the first try.
    let tight = sticker::convert(&png, 20 * 1024).unwrap();
    assert!(tight.webp.len() <= 20 * 1024);
    assert!(
        tight.quality < s.quality,
        "{} vs {}",
        tight.quality,
        s.quality
    );
    assert!(matches!(
        sticker::convert(&png, 100),
        Err(StickerError::TooLarge(100))
    ));
}

#[test]
fn a_large_jpeg_is_shrunk_on_load() {
    let img = RgbImage::from_fn(4000, 3000, |x, y| {
        Rgb([(x / 16) as u8, (y / 12) as u8, ((x + y) / 28) as u8])
    });
    let jpeg = encode(DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
    let s = sticker::convert(&jpeg, 100 * 1024).unwrap();
    let out = decode_sticker(&s.webp);
    assert_eq!(out.dimensions(), (SIDE, SIDE));
    // 4:3 becomes 512×384: 64 rows of padding top and bottom.
    assert_eq!(out.get_pixel(256, 30)[3], 0);
    assert_eq!(out.get_pixel(256, 256)[3], 255);
    // The gradient survived: the right edge is brighter in red than the left.
    assert!(out.get_pixel(500, 256)[0] > out.get_pixel(10, 256)[0] + 100);
}

#[test]
fn gif_first_frame_small_images_and_webp_inputs_convert() {
    let gif = encode(
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 32, Rgba([0, 0, 255, 255]))),
        ImageFormat::Gif,
    );
    let out = decode_sticker(&sticker::convert(&gif, 100 * 1024).unwrap().webp);
    assert_eq!(out.dimensions(), (SIDE, SIDE));
    assert!(out.get_pixel(256, 256)[2] > 200, "upscaled blue");

    let ready = sticker::convert(&gif, 100 * 1024).unwrap().webp;
    assert!(sticker::is_ready_sticker(&ready, 100 * 1024));
    assert!(!sticker::is_ready_sticker(&ready, 10));
    assert!(!sticker::is_ready_sticker(&gif, 100 * 1024));
    let webp_in = encode(
        DynamicImage::ImageRgba8(RgbaImage::from_pixel(300, 300, Rgba([9, 9, 9, 255]))),
        ImageFormat::WebP,
    );
    assert!(
        !sticker::is_ready_sticker(&webp_in, 100 * 1024),
        "not 512×512"
    );
    let out = decode_sticker(&sticker::convert(&webp_in, 100 * 1024).unwrap().webp);
    assert_eq!(out.dimensions(), (SIDE, SIDE));
}

#[test]
fn garbage_is_refused_not_panicked_on() {
    for bad in [
        b"".as_slice(),
        b"not an image at all",
        b"\xFF\xD8\xFF\xE0 truncated jpeg",
        b"\x89PNG\r\n\x1a\n truncated png",
    ] {
        assert!(
            matches!(
                sticker::convert(bad, 100 * 1024),
                Err(StickerError::Undecodable(_))
            ),
            "{bad:?}"
        );
    }
}
