//! The host's side of received media with a fake connection: records, downloads into the
//! blob store (hashed, capped), URLs, the events a stopped host left waiting, and the bound
//! on how many events may wait for a download.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};
use wagate_core::inbound_media::{InboundMediaMode, MediaState, file_key, load_record};
use wagate_core::ports::{BlobWriter, Blobs};
use wagate_core::{
    Event, EventKind, InboundContent, InboundMedia, InboundMediaKind, Jid, OutboundMessage,
    SessionId,
};
use wagate_host::config::HostConfig;
use wagate_host::connector::{
    ChatState, Connection, IncomingCall, IncomingMessage, SendError, SendReceipt,
};
use wagate_host::received_media::{MAX_WAITING, ReceivedMedia};
use wagate_local::FsBlobs;

/// A connection whose every download is `file`.
struct Serves {
    file: Vec<u8>,
}

#[async_trait]
impl Connection for Serves {
    async fn send(&self, _: &Jid, _: &OutboundMessage, _: &str) -> Result<SendReceipt, SendError> {
        Err(SendError::Permanent("not in this test".into()))
    }
    async fn pair_code(&self, _: &str) -> anyhow::Result<String> {
        anyhow::bail!("not in this test")
    }
    async fn logout(&self) -> anyhow::Result<()> {
        Ok(())
    }
    async fn reject_call(&self, _: &IncomingCall) -> anyhow::Result<()> {
        Ok(())
    }
    async fn chat_state(&self, _: &Jid, _: ChatState) -> anyhow::Result<()> {
        Ok(())
    }
    async fn check_numbers(&self, _: &[String]) -> anyhow::Result<Vec<wagate_core::NumberCheck>> {
        anyhow::bail!("not in this test")
    }
    async fn profile(&self, _: &str) -> anyhow::Result<wagate_core::ContactProfile> {
        anyhow::bail!("not in this test")
    }
    async fn act(
        &self,
        _: &Jid,
        _: &wagate_core::Action,
        _: &str,
    ) -> Result<wagate_core::ActionResult, SendError> {
        Err(SendError::Permanent("not in this test".into()))
    }
    async fn business_profile(&self, _: &str) -> anyhow::Result<wagate_core::BusinessProfile> {
        anyhow::bail!("not in this test")
    }
    async fn blocklist(&self) -> anyhow::Result<Vec<Jid>> {
        anyhow::bail!("not in this test")
    }
    async fn groups(&self) -> anyhow::Result<Vec<wagate_core::GroupInfo>> {
        anyhow::bail!("not in this test")
    }
    async fn group(&self, _: &Jid) -> anyhow::Result<wagate_core::GroupInfo> {
        anyhow::bail!("not in this test")
    }
    async fn invite_link(&self, _: &Jid) -> anyhow::Result<String> {
        anyhow::bail!("not in this test")
    }
    async fn invite_info(&self, _: &str) -> anyhow::Result<wagate_core::GroupInfo> {
        anyhow::bail!("not in this test")
    }
    async fn join_requests(&self, _: &Jid) -> anyhow::Result<Vec<wagate_core::JoinRequest>> {
        anyhow::bail!("not in this test")
    }
    async fn download_media(
        &self,
        _: &str,
        _: &serde_json::Value,
        _: u64,
        out: &mut dyn BlobWriter,
    ) -> anyhow::Result<()> {
        for c in self.file.chunks(1000) {
            out.write(Bytes::copy_from_slice(c)).await?;
        }
        Ok(())
    }
    async fn disconnect(&self) {}
}

fn photo(id: &str, declared: u64) -> IncomingMessage {
    let from = Jid::parse("6281112223").unwrap();
    IncomingMessage {
        id: id.into(),
        from: from.clone(),
        sender_lid: None,
        chat: from,
        from_me: false,
        push_name: None,
        content: InboundContent::Media(InboundMedia {
            mimetype: Some("image/png".into()),
            size: Some(declared),
            ..InboundMedia::of(InboundMediaKind::Image)
        }),
        quoted_id: None,
        raw: None,
        media_handle: Some(json!({ "any": "thing" })),
        timestamp_secs: 1,
    }
}

fn setup() -> (tempfile::TempDir, Arc<dyn Blobs>, Arc<ReceivedMedia>) {
    let dir = tempfile::TempDir::new().unwrap();
    let blobs: Arc<dyn Blobs> = Arc::new(FsBlobs::new(dir.path().to_path_buf(), false).unwrap());
    let mut cfg = HostConfig::default();
    cfg.inbound_caps.image = 10_000;
    cfg.public_url = "https://wa.example.com/".into();
    (dir, blobs, Arc::new(ReceivedMedia::new(&cfg)))
}

#[tokio::test]
async fn a_file_is_stored_hashed_and_linked_and_one_over_the_cap_is_refused() {
    let (_dir, blobs, media) = setup();
    let s = SessionId::parse("shop").unwrap();
    let file: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
    let conn = Serves { file: file.clone() };

    let mut r = media
        .register(
            blobs.as_ref(),
            &s,
            &photo("M1", 5000),
            InboundMediaMode::Auto,
        )
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(r.state, MediaState::Available);
    assert_eq!(
        load_record(blobs.as_ref(), &s, "M1").await.unwrap(),
        Some(r.clone())
    );
    media.fetch(blobs.as_ref(), Some(&conn), &mut r).await;
    let sha = hex::encode(Sha256::digest(&file));
    assert_eq!(
        r.state,
        MediaState::Stored {
            size: 5000,
            sha256: sha.clone()
        }
    );
    assert_eq!(r.attempts, 1);
    assert_eq!(
        blobs.get(&file_key(&s, "M1")).await.unwrap().as_deref(),
        Some(&file[..])
    );
    assert_eq!(
        load_record(blobs.as_ref(), &s, "M1").await.unwrap(),
        Some(r.clone())
    );
    let described = media.describe(blobs.as_ref(), &r).await;
    assert_eq!(described["sha256"], sha);
    let url = described["url"].as_str().unwrap();
    assert!(
        url.starts_with(
            "https://wa.example.com/api/media/download?key=media%2Fin%2Fshop%2FM1%2Ffile&expires="
        ),
        "{url}"
    );

    // Announced over the cap: refused before downloading.
    let mut big = media
        .register(
            blobs.as_ref(),
            &s,
            &photo("M2", 20_000),
            InboundMediaMode::Auto,
        )
        .await
        .unwrap()
        .unwrap();
    media.fetch(blobs.as_ref(), Some(&conn), &mut big).await;
    assert!(
        matches!(&big.state, MediaState::Failed { error } if error.contains("10000-byte limit"))
    );
    // Announced small, larger in fact: stopped at the cap, nothing left behind.
    let liar = Serves {
        file: vec![7; 12_000],
    };
    let mut r3 = media
        .register(
            blobs.as_ref(),
            &s,
            &photo("M3", 100),
            InboundMediaMode::Auto,
        )
        .await
        .unwrap()
        .unwrap();
    media.fetch(blobs.as_ref(), Some(&liar), &mut r3).await;
    assert!(
        matches!(&r3.state, MediaState::Failed { .. }),
        "{:?}",
        r3.state
    );
    assert_eq!(blobs.get(&file_key(&s, "M3")).await.unwrap(), None);
    // No connection: failed, to be asked again.
    let mut r4 = media
        .register(blobs.as_ref(), &s, &photo("M4", 10), InboundMediaMode::Auto)
        .await
        .unwrap()
        .unwrap();
    media.fetch(blobs.as_ref(), None, &mut r4).await;
    assert!(matches!(&r4.state, MediaState::Failed { error } if error.contains("not connected")));
}

#[tokio::test]
async fn off_and_messages_without_a_file_get_no_record() {
    let (_dir, blobs, media) = setup();
    let s = SessionId::parse("shop").unwrap();
    let off = media
        .register(blobs.as_ref(), &s, &photo("M1", 5), InboundMediaMode::Off)
        .await
        .unwrap();
    assert_eq!(off, None);
    let mut no_handle = photo("M2", 5);
    no_handle.media_handle = None;
    let r = media
        .register(blobs.as_ref(), &s, &no_handle, InboundMediaMode::Auto)
        .await
        .unwrap();
    assert_eq!(r, None);
    assert!(blobs.list("media/").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_event_left_waiting_by_a_stopped_host_is_recovered_with_its_media_failed() {
    let (_dir, blobs, media) = setup();
    let s = SessionId::parse("shop").unwrap();
    media
        .register(blobs.as_ref(), &s, &photo("M9", 5), InboundMediaMode::Auto)
        .await
        .unwrap();
    let event = Event::new(
        s.clone(),
        EventKind::MessageReceived,
        json!({ "messageId": "M9", "type": "image" }),
        1,
    );
    media.hold(blobs.as_ref(), &event).await.unwrap();

    let back = media.recover(blobs.as_ref(), &s).await;
    assert_eq!(back.len(), 1);
    assert_eq!(
        back[0].id, event.id,
        "the same event id: the dispatcher dedups on it"
    );
    assert_eq!(back[0].data["media"]["status"], "failed");
    assert!(
        back[0].data["media"]["error"]
            .as_str()
            .unwrap()
            .contains("stopped during the download")
    );
    media.release(blobs.as_ref(), &back[0]).await;
    assert!(media.recover(blobs.as_ref(), &s).await.is_empty());
    let other = SessionId::parse("other").unwrap();
    assert!(media.recover(blobs.as_ref(), &other).await.is_empty());
}

#[test]
fn only_so_many_events_wait_for_a_download() {
    let (_dir, _blobs, media) = setup();
    let tickets: Vec<_> = (0..MAX_WAITING)
        .map(|_| media.try_wait().expect("a place"))
        .collect();
    assert!(media.try_wait().is_none(), "full");
    drop(tickets);
    assert!(media.try_wait().is_some(), "places come back");
}
