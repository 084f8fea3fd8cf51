//! The blob store contract: whole writes, safe keys, prefix listings, streamed writers.

use std::sync::Arc;

use bytes::Bytes;
use wagate_core::ports::Blobs;
use wagate_core::random_token;

pub async fn blobs_put_get_overwrite_delete_list(blobs: Arc<dyn Blobs>) {
    let p = format!("t{}", random_token(8));
    let k1 = format!("{p}/a/one.bin");
    blobs.put(&k1, Bytes::from_static(b"one")).await.unwrap();
    blobs.put(&k1, Bytes::from_static(b"uno")).await.unwrap();
    blobs
        .put(&format!("{p}/b.txt"), Bytes::from_static(b"b"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get(&k1).await.unwrap().unwrap(),
        Bytes::from_static(b"uno")
    );
    assert_eq!(
        blobs.list(&format!("{p}/")).await.unwrap(),
        vec![format!("{p}/a/one.bin"), format!("{p}/b.txt")]
    );
    blobs.delete(&k1).await.unwrap();
    blobs.delete(&k1).await.unwrap();
    assert!(blobs.get(&k1).await.unwrap().is_none());
}

pub async fn blobs_refuse_keys_that_could_escape(blobs: Arc<dyn Blobs>) {
    for bad in [
        "../x", "/abs", "a//b", "", "a/../b", "a/./b", "sp ace", "..", "a/", "a\\b",
    ] {
        assert!(
            blobs.put(bad, Bytes::from_static(b"x")).await.is_err(),
            "put {bad:?}"
        );
        assert!(blobs.get(bad).await.is_err(), "get {bad:?}");
        assert!(blobs.delete(bad).await.is_err(), "delete {bad:?}");
    }
}

pub async fn blobs_list_matches_by_string_prefix_and_missing_keys_are_none(blobs: Arc<dyn Blobs>) {
    let p = format!("t{}", random_token(8));
    let big = Bytes::from(vec![7u8; 1 << 20]);
    for k in [
        format!("{p}/a/one.bin"),
        format!("{p}/ab.txt"),
        format!("{p}x/c"),
    ] {
        blobs.put(&k, big.clone()).await.unwrap();
    }
    assert_eq!(blobs.get(&format!("{p}/ab.txt")).await.unwrap(), Some(big));
    assert_eq!(
        blobs.list(&format!("{p}/a")).await.unwrap(),
        vec![format!("{p}/a/one.bin"), format!("{p}/ab.txt")]
    );
    assert_eq!(blobs.list(&format!("{p}/")).await.unwrap().len(), 2);
    assert_eq!(blobs.list(&p).await.unwrap().len(), 3);
    assert!(blobs.list(&format!("{p}/zz")).await.unwrap().is_empty());
    assert!(blobs.get(&format!("{p}/nope")).await.unwrap().is_none());
    // A "directory" of other keys is not a blob.
    assert!(blobs.get(&format!("{p}/a")).await.unwrap().is_none());
    blobs.delete(&format!("{p}/nope")).await.unwrap();
}

pub async fn blobs_streamed_writes_appear_whole_on_finish_and_never_on_abort(
    blobs: Arc<dyn Blobs>,
) {
    let p = format!("t{}", random_token(8));
    // 13 MiB in 1 MiB chunks: more than one S3 part, and a last part smaller than the rest.
    let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let key = format!("{p}/big.bin");
    let mut w = blobs.writer(&key).await.unwrap();
    for _ in 0..13 {
        w.write(Bytes::from(chunk.clone())).await.unwrap();
    }
    assert!(
        blobs.get(&key).await.unwrap().is_none(),
        "visible before finish"
    );
    assert_eq!(w.finish().await.unwrap(), 13 << 20);
    let got = blobs.get(&key).await.unwrap().unwrap();
    assert_eq!(got.len(), 13 << 20);
    assert!(got.chunks(1 << 20).all(|c| c == chunk.as_slice()));
    assert_eq!(blobs.size(&key).await.unwrap(), Some(13 << 20));
    assert_eq!(
        blobs.get_prefix(&key, 8).await.unwrap().unwrap().as_ref(),
        &chunk[..8]
    );

    let small = format!("{p}/small.txt");
    let mut w = blobs.writer(&small).await.unwrap();
    w.write(Bytes::from_static(b"hello ")).await.unwrap();
    w.write(Bytes::from_static(b"world")).await.unwrap();
    assert_eq!(w.finish().await.unwrap(), 11);
    assert_eq!(
        blobs.get(&small).await.unwrap().unwrap().as_ref(),
        b"hello world"
    );
    assert_eq!(
        blobs
            .get_prefix(&small, 100)
            .await
            .unwrap()
            .unwrap()
            .as_ref(),
        b"hello world"
    );

    let aborted = format!("{p}/aborted.bin");
    let mut w = blobs.writer(&aborted).await.unwrap();
    w.write(Bytes::from(chunk.clone())).await.unwrap();
    w.abort().await;
    let dropped = format!("{p}/dropped.bin");
    let mut w = blobs.writer(&dropped).await.unwrap();
    w.write(Bytes::from(chunk.clone())).await.unwrap();
    drop(w);
    assert!(blobs.get(&aborted).await.unwrap().is_none());
    assert!(blobs.get(&dropped).await.unwrap().is_none());
    assert_eq!(blobs.size(&dropped).await.unwrap(), None);
    assert!(blobs.get_prefix(&dropped, 4).await.unwrap().is_none());
    assert_eq!(
        blobs.list(&format!("{p}/")).await.unwrap(),
        vec![key, small],
        "an aborted or dropped write leaves no blob"
    );
    assert!(blobs.writer("../escape").await.is_err());
}
