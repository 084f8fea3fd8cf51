//! Stickers: WhatsApp shows a sticker only as a 512×512 WebP of at most 100 KB. Any image a
//! client has (PNG with alpha, JPEG, a GIF's first frame, WebP) is fitted into that square
//! with its aspect kept and transparent padding, then encoded lossy with libwebp, stepping the
//! quality down until it fits. JPEGs are decoded at a reduced scale straight from the DCT
//! (1/2, 1/4, 1/8), so a 12-megapixel photo never exists in memory at full size.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::sniff::sniff;

/// A sticker's side in pixels.
pub const SIDE: u32 = 512;
/// Qualities tried in turn until the sticker fits its byte cap.
const QUALITIES: [f32; 8] = [80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0];
/// Larger inputs are refused from their header, before any decoding (a small file can claim
/// huge dimensions): a PNG, GIF or WebP is decoded whole, 4 bytes a pixel (8 Mi pixels, 32
/// MiB: a 4K screenshot fits).
pub const MAX_PIXELS: u64 = 8 * 1024 * 1024;
/// Baseline JPEGs are decoded at 1/2 … 1/8 scale, so a larger photo costs no more than that.
pub const MAX_JPEG_PIXELS: u64 = 50_000_000;
/// A progressive JPEG keeps every DCT coefficient until its last scan (2 bytes a sample, up
/// to 3 samples a pixel), so it gets a smaller cap.
pub const MAX_PROGRESSIVE_JPEG_PIXELS: u64 = 8_000_000;
/// Conversions at once in this process: each holds a decoded image, so they queue instead of
/// adding up.
const CONVERSIONS_AT_ONCE: usize = 1;
static CONVERSIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONVERSIONS_AT_ONCE);

#[derive(Debug, thiserror::Error)]
pub enum StickerError {
    #[error("the image could not be read ({0})")]
    Undecodable(String),
    #[error("{0}x{1} pixels is too large to convert")]
    TooManyPixels(u32, u32),
    #[error("the sticker does not fit in {0} bytes even at the lowest quality")]
    TooLarge(u64),
}

/// A finished sticker and the quality it was encoded at.
#[derive(Debug, Clone)]
pub struct Sticker {
    pub webp: Vec<u8>,
    pub quality: f32,
}

/// [`convert`] on a blocking thread, one conversion at a time in this process.
pub async fn convert_queued(input: Vec<u8>, max_bytes: u64) -> Result<Sticker, StickerError> {
    let _slot = CONVERSIONS
        .acquire()
        .await
        .map_err(|e| StickerError::Undecodable(e.to_string()))?;
    tokio::task::spawn_blocking(move || convert(&input, max_bytes))
        .await
        .map_err(|e| StickerError::Undecodable(format!("conversion stopped: {e}")))?
}

/// Converts any supported image into a 512×512 WebP of at most `max_bytes`.
pub fn convert(input: &[u8], max_bytes: u64) -> Result<Sticker, StickerError> {
    let (w, h, rgba) = decode(input)?;
    let square = fit_into_square(w, h, rgba)?;
    encode(&square, max_bytes)
}

/// Whether `input` can go out as a sticker as it is: a WebP of exactly 512×512 within the cap.
pub fn is_ready_sticker(input: &[u8], max_bytes: u64) -> bool {
    if input.len() as u64 > max_bytes || sniff(input) != Some("image/webp") {
        return false;
    }
    image::ImageReader::with_format(Cursor::new(input), image::ImageFormat::WebP)
        .into_dimensions()
        .is_ok_and(|d| d == (SIDE, SIDE))
}

/// The image as RGBA, already shrunk on load where the format allows it.
fn decode(input: &[u8]) -> Result<(u32, u32, Vec<u8>), StickerError> {
    if sniff(input) == Some("image/jpeg") {
        return decode_jpeg(input);
    }
    // Dimensions first (cheap), so a small file claiming huge ones is refused before decoding.
    let reader = |limits: image::Limits| {
        let mut reader = image::ImageReader::new(Cursor::new(input))
            .with_guessed_format()
            .map_err(|e| StickerError::Undecodable(e.to_string()))?;
        reader.limits(limits);
        Ok::<_, StickerError>(reader)
    };
    // The header alone, under the default limits, so the refusal below can name the size.
    let (w, h) = reader(image::Limits::default())?
        .into_dimensions()
        .map_err(|e| StickerError::Undecodable(e.to_string()))?;
    check_pixels(w, h, MAX_PIXELS)?;
    // The decoder holds to the same bounds, whatever the header said.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4);
    let img = reader(limits)?
        .decode()
        .map_err(|e| StickerError::Undecodable(e.to_string()))?;
    let rgba = img.into_rgba8();
    Ok((rgba.width(), rgba.height(), rgba.into_raw()))
}

/// The longest side any input may declare.
const MAX_SIDE: u32 = 16_384;

fn check_pixels(w: u32, h: u32, max_pixels: u64) -> Result<(), StickerError> {
    if w == 0 || h == 0 {
        return Err(StickerError::Undecodable("the image has no pixels".into()));
    }
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > max_pixels {
        return Err(StickerError::TooManyPixels(w, h));
    }
    Ok(())
}

fn decode_jpeg(input: &[u8]) -> Result<(u32, u32, Vec<u8>), StickerError> {
    let bad = |e: jpeg_decoder::Error| StickerError::Undecodable(e.to_string());
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(input));
    d.read_info().map_err(bad)?;
    let info = d
        .info()
        .ok_or_else(|| StickerError::Undecodable("no JPEG header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let cap = if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive {
        MAX_PROGRESSIVE_JPEG_PIXELS
    } else {
        MAX_JPEG_PIXELS
    };
    check_pixels(w, h, cap)?;
    let (tw, th) = fitted(w, h);
    // At least the target size, so the final resize only ever shrinks.
    let (sw, sh) = d
        .scale(
            u16::try_from(tw).unwrap_or(u16::MAX),
            u16::try_from(th).unwrap_or(u16::MAX),
        )
        .map_err(bad)?;
    let pixels = d.decode().map_err(bad)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let info = d
        .info()
        .ok_or_else(|| StickerError::Undecodable("no JPEG header".into()))?;
    let n = (sw * sh) as usize;
    let mut rgba = Vec::with_capacity(n * 4);
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            for px in pixels.chunks_exact(3) {
                rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
            }
        }
        jpeg_decoder::PixelFormat::L8 => {
            for &l in &pixels {
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        jpeg_decoder::PixelFormat::L16 => {
            for px in pixels.chunks_exact(2) {
                let l = px[0];
                rgba.extend_from_slice(&[l, l, l, 255]);
            }
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe CMYK JPEGs store inverted values.
            for px in pixels.chunks_exact(4) {
                let k = u16::from(px[3]);
                let ch = |c: u8| ((u16::from(c) * k) / 255) as u8;
                rgba.extend_from_slice(&[ch(px[0]), ch(px[1]), ch(px[2]), 255]);
            }
        }
    }
    if rgba.len() != n * 4 {
        return Err(StickerError::Undecodable("truncated JPEG data".into()));
    }
    Ok((sw, sh, rgba))
}

/// The size `w`×`h` takes inside the 512 square with its aspect kept.
fn fitted(w: u32, h: u32) -> (u32, u32) {
    if w >= h {
        let th = (u64::from(h) * u64::from(SIDE) + u64::from(w) / 2) / u64::from(w);
        (SIDE, (th as u32).max(1))
    } else {
        let tw = (u64::from(w) * u64::from(SIDE) + u64::from(h) / 2) / u64::from(h);
        ((tw as u32).max(1), SIDE)
    }
}

/// Resizes into the fitted size and centres it on a transparent 512×512 canvas.
fn fit_into_square(w: u32, h: u32, rgba: Vec<u8>) -> Result<Vec<u8>, StickerError> {
    let (tw, th) = fitted(w, h);
    let resized = if (w, h) == (tw, th) {
        rgba
    } else {
        let failed = |e: &dyn std::fmt::Display| StickerError::Undecodable(e.to_string());
        let mut src = Image::from_vec_u8(w, h, rgba, PixelType::U8x4).map_err(|e| failed(&e))?;
        let mut dst = Image::new(tw, th, PixelType::U8x4);
        // Alpha is premultiplied in place, not in a copy the size of the source (the
        // resizer's own way), so a conversion holds one decoded image, not two.
        let alpha = MulDiv::default();
        alpha
            .multiply_alpha_inplace(&mut src)
            .map_err(|e| failed(&e))?;
        let options = ResizeOptions::new()
            .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
            .use_alpha(false);
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| failed(&e))?;
        alpha
            .divide_alpha_inplace(&mut dst)
            .map_err(|e| failed(&e))?;
        dst.into_vec()
    };
    if (tw, th) == (SIDE, SIDE) {
        return Ok(resized);
    }
    let mut canvas = vec![0u8; (SIDE * SIDE * 4) as usize];
    let (x0, y0) = ((SIDE - tw) / 2, (SIDE - th) / 2);
    let row = (tw * 4) as usize;
    for y in 0..th {
        let from = (y * tw * 4) as usize;
        let to = (((y0 + y) * SIDE + x0) * 4) as usize;
        canvas[to..to + row].copy_from_slice(&resized[from..from + row]);
    }
    Ok(canvas)
}

fn encode(square: &[u8], max_bytes: u64) -> Result<Sticker, StickerError> {
    let encoder = webp::Encoder::from_rgba(square, SIDE, SIDE);
    for quality in QUALITIES {
        let out = encoder
            .encode_simple(false, quality)
            .map_err(|e| StickerError::Undecodable(format!("WebP encoding failed: {e:?}")))?;
        if out.len() as u64 <= max_bytes {
            return Ok(Sticker {
                webp: out.to_vec(),
                quality,
            });
        }
    }
    Err(StickerError::TooLarge(max_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_keeps_the_aspect() {
        assert_eq!(fitted(1024, 768), (512, 384));
        assert_eq!(fitted(768, 1024), (384, 512));
        assert_eq!(fitted(100, 100), (512, 512));
        assert_eq!(fitted(4000, 3000), (512, 384));
        assert_eq!(fitted(5000, 1), (512, 1));
    }
}
