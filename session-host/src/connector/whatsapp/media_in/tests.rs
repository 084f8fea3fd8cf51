//! The media handle read from real protobuf values, field by field, for every media kind, and
//! the streamed copy's cap.

use waproto::buffa::MessageField;
use whatsapp_rust::download::Downloadable;

use super::*;

fn cdn<T: Default>(set: impl FnOnce(&mut T)) -> T {
    let mut x = T::default();
    set(&mut x);
    x
}

macro_rules! with_cdn {
    ($t:ty) => {
        cdn::<$t>(|x| {
            x.direct_path = Some("/v/t62.7118-24/abc?ccb=11".into());
            x.media_key = Some(vec![1; 32]);
            x.file_sha256 = Some(vec![2; 32]);
            x.file_enc_sha256 = Some(vec![3; 32]);
            x.file_length = Some(4242);
        })
    };
}

#[test]
fn every_media_kind_gives_a_handle_with_its_cdn_fields() {
    let image = wa::Message {
        image_message: MessageField::some(with_cdn!(wa::message::ImageMessage)),
        ..Default::default()
    };
    let video = wa::Message {
        video_message: MessageField::some(with_cdn!(wa::message::VideoMessage)),
        ..Default::default()
    };
    let audio = wa::Message {
        audio_message: MessageField::some(with_cdn!(wa::message::AudioMessage)),
        ..Default::default()
    };
    let document = wa::Message {
        document_message: MessageField::some(with_cdn!(wa::message::DocumentMessage)),
        ..Default::default()
    };
    let sticker = wa::Message {
        sticker_message: MessageField::some(with_cdn!(wa::message::StickerMessage)),
        ..Default::default()
    };
    for (m, kind) in [
        (image, "image"),
        (video, "video"),
        (audio, "audio"),
        (document, "document"),
        (sticker, "sticker"),
    ] {
        let v = handle(
            &m,
            "120363025246125244@g.us",
            Some("6281234@s.whatsapp.net"),
            false,
        )
        .unwrap_or_else(|| panic!("{kind}: no handle"));
        let h: WaMediaHandle = serde_json::from_value(v).unwrap();
        assert_eq!(h.media_type, kind);
        assert_eq!(h.direct_path, "/v/t62.7118-24/abc?ccb=11");
        assert_eq!(B64.decode(&h.media_key).unwrap(), vec![1; 32]);
        assert_eq!(B64.decode(&h.file_sha256).unwrap(), vec![2; 32]);
        assert_eq!(B64.decode(&h.file_enc_sha256).unwrap(), vec![3; 32]);
        assert_eq!(h.file_length, 4242);
        assert_eq!(h.chat, "120363025246125244@g.us");
        assert_eq!(h.participant.as_deref(), Some("6281234@s.whatsapp.net"));

        // What whatsapp-rust downloads from is the same file.
        let p = h.params(None).unwrap();
        assert_eq!(p.direct_path(), Some("/v/t62.7118-24/abc?ccb=11"));
        assert_eq!(p.media_key(), Some(&[1u8; 32][..]));
        assert_eq!(p.file_sha256(), Some(&[2u8; 32][..]));
        assert_eq!(p.file_enc_sha256(), Some(&[3u8; 32][..]));
        assert_eq!(p.file_length(), Some(4242));
        let moved = h.params(Some("/v/new")).unwrap();
        assert_eq!(
            moved.direct_path(),
            Some("/v/new"),
            "a re-uploaded file's new path"
        );
    }
}

#[test]
fn a_message_without_a_complete_file_reference_has_no_handle() {
    let text = wa::Message {
        conversation: Some("hi".into()),
        ..Default::default()
    };
    assert_eq!(handle(&text, "1@s.whatsapp.net", None, false), None);
    let mut keyless = with_cdn!(wa::message::ImageMessage);
    keyless.media_key = Some(Vec::new());
    let m = wa::Message {
        image_message: MessageField::some(keyless),
        ..Default::default()
    };
    assert_eq!(handle(&m, "1@s.whatsapp.net", None, false), None);
}

#[test]
fn a_document_with_a_caption_is_found_inside_its_wrapper() {
    let m = wa::Message {
        document_with_caption_message: MessageField::some(wa::message::FutureProofMessage {
            message: MessageField::some(wa::Message {
                document_message: MessageField::some(with_cdn!(wa::message::DocumentMessage)),
                ..Default::default()
            }),
        }),
        ..Default::default()
    };
    let v = handle(&m, "1@s.whatsapp.net", None, true).unwrap();
    assert_eq!(v["mediaType"], "document");
    assert_eq!(v["fromMe"], true);
}

/// A blob writer that keeps what it gets.
#[derive(Default)]
struct Kept(Vec<u8>);

#[async_trait::async_trait]
impl BlobWriter for Kept {
    async fn write(&mut self, chunk: Bytes) -> wagate_core::ports::PortResult<()> {
        self.0.extend_from_slice(&chunk);
        Ok(())
    }
    async fn finish(self: Box<Self>) -> wagate_core::ports::PortResult<u64> {
        Ok(self.0.len() as u64)
    }
    async fn abort(self: Box<Self>) {}
}

#[tokio::test]
async fn the_copy_streams_the_file_and_stops_past_the_cap() {
    let file: Vec<u8> = (0..600_000u32).map(|i| i as u8).collect();
    let mut out = Kept::default();
    copy_into(&file[..], 600_000, &mut out).await.unwrap();
    assert_eq!(out.0, file);
    let mut out = Kept::default();
    let err = copy_into(&file[..], 300_000, &mut out).await.unwrap_err();
    assert!(err.to_string().contains("300000-byte limit"), "{err}");
    assert!(out.0.len() <= 300_000, "never more than the cap written");
}
