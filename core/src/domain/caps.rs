//! How large a media file of each kind may be: WhatsApp's own limits by default, changed by
//! the operator (`MEDIA_MAX_*_BYTES`). The one definition, read by the API when it accepts a
//! file and by the WhatsApp connector before it uploads one.

use super::message::MediaKind;

const MIB: u64 = 1024 * 1024;

/// The largest file of each kind, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaCaps {
    pub image: u64,
    pub video: u64,
    pub audio: u64,
    pub document: u64,
    /// A converted sticker (WebP) must come out at or under this.
    pub sticker: u64,
}

impl Default for MediaCaps {
    fn default() -> Self {
        Self {
            image: 5 * MIB,
            video: 16 * MIB,
            audio: 16 * MIB,
            document: 100 * MIB,
            sticker: 100 * 1024,
        }
    }
}

impl MediaCaps {
    /// The largest file of `kind`.
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image,
            MediaKind::Video => self.video,
            MediaKind::Audio => self.audio,
            MediaKind::Document => self.document,
        }
    }

    /// The largest file of any kind (the cap before the kind is known).
    pub fn max_any(&self) -> u64 {
        self.image
            .max(self.video)
            .max(self.audio)
            .max(self.document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_cap_and_any_is_the_largest() {
        let caps = MediaCaps {
            image: 1,
            video: 2,
            audio: 3,
            document: 4,
            sticker: 5,
        };
        assert_eq!(caps.max_bytes(MediaKind::Image), 1);
        assert_eq!(caps.max_bytes(MediaKind::Video), 2);
        assert_eq!(caps.max_bytes(MediaKind::Audio), 3);
        assert_eq!(caps.max_bytes(MediaKind::Document), 4);
        assert_eq!(caps.max_any(), 4);
    }
}
