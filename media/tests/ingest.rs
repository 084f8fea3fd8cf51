//! Streaming into the embedded blob store: types come from the bytes, caps hold while the
//! bytes flow, and every refusal leaves the store as it was.

use bytes::Bytes;
use futures::stream;
use wagate_core::MediaKind;
use wagate_core::ports::Blobs;
use wagate_local::FsBlobs;
use wagate_media::{IngestError, MediaConfig, ingest};

fn chunks(parts: Vec<Vec<u8>>) -> impl futures::Stream<Item = Result<Bytes, String>> + Unpin {
    stream::iter(parts.into_iter().map(|p| Ok(Bytes::from(p))))
}

fn blobs() -> (tempfile::TempDir, FsBlobs) {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobs::new(dir.path().join("blobs"), false).unwrap();
    (dir, blobs)
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_not_the_claim() {
    let (_d, blobs) = blobs();
    let cfg = MediaConfig::default();
    // A PNG split so its signature spans two chunks.
    let got = ingest(
        &blobs,
        "media/a.png",
        chunks(vec![b"\x89PN".to_vec(), b"G\r\n\x1a\n rest".to_vec()]),
        None,
        &cfg,
    )
    .await
    .unwrap();
    assert_eq!(got.kind, MediaKind::Image);
    assert_eq!(got.sniffed, Some("image/png"));
    assert_eq!(got.size, 13);
    assert_eq!(
        blobs.get("media/a.png").await.unwrap().unwrap().as_ref(),
        b"\x89PNG\r\n\x1a\n rest"
    );

    let pdf = chunks(vec![b"%PDF-1.4 ...".to_vec()]);
    match ingest(&blobs, "media/b.jpg", pdf, Some(MediaKind::Image), &cfg).await {
        Err(IngestError::WrongType {
            kind: MediaKind::Image,
            found: Some("application/pdf"),
        }) => {}
        other => panic!("{other:?}"),
    }
    let unknown = ingest(
        &blobs,
        "media/c.bin",
        chunks(vec![b"plain text".to_vec()]),
        None,
        &cfg,
    )
    .await
    .unwrap();
    assert_eq!(unknown.kind, MediaKind::Document);
    assert!(matches!(
        ingest(&blobs, "media/d", chunks(vec![]), None, &cfg).await,
        Err(IngestError::Empty)
    ));
    assert_eq!(
        blobs.list("media/").await.unwrap(),
        vec!["media/a.png".to_owned(), "media/c.bin".to_owned()]
    );
}

#[tokio::test]
async fn caps_hold_while_streaming_and_failures_leave_nothing() {
    let (dir, blobs) = blobs();
    let mut cfg = MediaConfig::default();
    cfg.caps.image = 1000;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(600, 0);
    let over = chunks(vec![png.clone(), png.clone()]);
    match ingest(&blobs, "media/big.png", over, None, &cfg).await {
        Err(IngestError::TooLarge {
            kind: MediaKind::Image,
            limit: 1000,
        }) => {}
        other => panic!("{other:?}"),
    }
    let failing = stream::iter(vec![Ok(Bytes::from(png.clone())), Err("client went away")]);
    assert!(matches!(
        ingest(&blobs, "media/cut.png", failing, None, &cfg).await,
        Err(IngestError::Source("client went away"))
    ));
    assert!(blobs.list("media/").await.unwrap().is_empty());
    // No temp files either.
    let leftovers: Vec<_> = walk(dir.path());
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
