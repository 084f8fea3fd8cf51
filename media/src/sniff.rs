//! What a file is, read from its first bytes. Clients (and the servers media URLs point at)
//! get `Content-Type` wrong or lie about it; WhatsApp refuses an "image" that is a PDF only
//! after it was uploaded, so wagate decides from the bytes before accepting a send.

use wagate_core::MediaKind;

/// How many leading bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 64;

/// The MIME type the bytes start like, if they are a format wagate knows.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some("image/gif");
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Some("image/webp");
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Some("audio/wav");
    }
    if at(4, b"ftyp") {
        return Some(match head.get(8..12) {
            Some(b"M4A " | b"M4B " | b"M4P ") => "audio/mp4",
            Some(b"qt  ") => "video/quicktime",
            Some(b"avif" | b"avis") => "image/avif",
            Some(b"heic" | b"heix" | b"mif1" | b"msf1") => "image/heic",
            Some(brand) if brand.starts_with(b"3g") => "video/3gpp",
            _ => "video/mp4",
        });
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("video/webm");
    }
    if at(0, b"OggS") {
        return Some("audio/ogg");
    }
    if at(0, b"ID3") {
        return Some("audio/mpeg");
    }
    if at(0, b"#!AMR") {
        return Some("audio/amr");
    }
    if at(0, b"fLaC") {
        return Some("audio/flac");
    }
    if let [0xFF, b1, ..] = head {
        // ADTS (AAC) has layer bits 00; an MPEG audio frame has a non-zero layer.
        if b1 & 0xF6 == 0xF0 {
            return Some("audio/aac");
        }
        if b1 & 0xE0 == 0xE0 && b1 & 0x06 != 0 {
            return Some("audio/mpeg");
        }
    }
    if at(0, b"%PDF-") {
        return Some("application/pdf");
    }
    if at(0, b"PK\x03\x04") {
        return Some("application/zip");
    }
    if at(0, &[0x1F, 0x8B]) {
        return Some("application/gzip");
    }
    None
}

/// Whether bytes sniffed as `mime` may be sent as `kind`. Documents may be anything.
pub fn fits(kind: MediaKind, mime: Option<&str>) -> bool {
    let family = mime.and_then(|m| m.split('/').next());
    match kind {
        MediaKind::Document => true,
        MediaKind::Image => family == Some("image"),
        MediaKind::Video => family == Some("video"),
        // MP4 and WebM hold audio as often as video.
        MediaKind::Audio => {
            family == Some("audio") || matches!(mime, Some("video/mp4" | "video/webm"))
        }
    }
}

/// The kind a file of this type is sent as when the client names none.
pub fn kind_of(mime: Option<&str>) -> MediaKind {
    mime.map_or(MediaKind::Document, MediaKind::from_mimetype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_signatures() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"GIF89a\x01\x00", "image/gif"),
            (b"RIFF\x10\0\0\0WEBPVP8 ", "image/webp"),
            (b"RIFF\x10\0\0\0WAVEfmt ", "audio/wav"),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", "video/mp4"),
            (b"\0\0\0\x18ftypisom\0\0\0\0", "video/mp4"),
            (b"\0\0\0\x18ftypM4A \0\0\0\0", "audio/mp4"),
            (b"\0\0\0\x14ftypqt  ", "video/quicktime"),
            (b"\0\0\0\x14ftyp3gp5", "video/3gpp"),
            (b"\x1A\x45\xDF\xA3\x01", "video/webm"),
            (b"OggS\0\x02", "audio/ogg"),
            (b"ID3\x04\0", "audio/mpeg"),
            (b"\xFF\xFB\x90\x64", "audio/mpeg"),
            (b"\xFF\xF1\x50\x80", "audio/aac"),
            (b"%PDF-1.7\n", "application/pdf"),
            (b"PK\x03\x04\x14\0", "application/zip"),
        ];
        for (bytes, mime) in cases {
            assert_eq!(sniff(bytes), Some(*mime), "{bytes:?}");
        }
        assert_eq!(sniff(b"hello, world"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF"), None);
        assert_eq!(sniff(b"RIFF\0\0"), None);
    }

    #[test]
    fn kinds_accept_only_their_family() {
        assert!(fits(MediaKind::Image, Some("image/png")));
        assert!(!fits(MediaKind::Image, Some("application/pdf")));
        assert!(!fits(MediaKind::Image, None));
        assert!(fits(MediaKind::Video, Some("video/mp4")));
        assert!(!fits(MediaKind::Video, Some("image/gif")));
        assert!(fits(MediaKind::Audio, Some("audio/ogg")));
        assert!(fits(MediaKind::Audio, Some("video/mp4")));
        assert!(!fits(MediaKind::Audio, Some("image/jpeg")));
        assert!(fits(MediaKind::Document, None));
        assert!(fits(MediaKind::Document, Some("image/png")));
        assert_eq!(kind_of(Some("image/webp")), MediaKind::Image);
        assert_eq!(kind_of(Some("application/pdf")), MediaKind::Document);
        assert_eq!(kind_of(None), MediaKind::Document);
    }
}
