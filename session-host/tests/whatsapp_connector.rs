//! The WhatsApp connector without a network: credentials survive a restart through the
//! file-system blob store, and a client whose transport cannot reach WhatsApp reports a clean
//! `Closed` (the runner's cue to back off and retry) and shuts down, connected or not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempfile::TempDir;
use wagate_core::SessionId;
use wagate_core::ports::Blobs;
use wagate_host::connector::whatsapp::creds::{CredsStore, Restored, blob_key};
use wagate_host::connector::{
    Connected, Connector, ConnectorEvent, WhatsAppConnector, WhatsAppOptions,
};
use wagate_local::FsBlobs;
use wagate_testkit::fakes::NoHttp;
use whatsapp_rust::async_channel;
use whatsapp_rust::store::SqliteStore;
use whatsapp_rust::traits::SignalStore;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};

fn session(s: &str) -> SessionId {
    SessionId::parse(s).unwrap()
}

fn blobs(root: &std::path::Path) -> Arc<dyn Blobs> {
    Arc::new(FsBlobs::new(root.to_path_buf(), false).unwrap())
}

/// The signal address whose identity key the tests write and read back.
const DEVICE: &str = "628123456789.0";

/// The session's key store on `creds`' disk.
async fn open_db(creds: &CredsStore, s: &SessionId) -> SqliteStore {
    SqliteStore::new(&creds.db_path(s).to_string_lossy())
        .await
        .unwrap()
}

/// Writes `identity` for [`DEVICE`], then backs the key store up; returns the bytes uploaded.
async fn write_identity_and_back_up(creds: &CredsStore, s: &SessionId, identity: [u8; 32]) -> u64 {
    let store = open_db(creds, s).await;
    store.put_identity(DEVICE, identity).await.unwrap();
    creds.backup(s, &store).await.unwrap()
}

#[tokio::test]
async fn credentials_written_then_restored_on_another_disk_read_back() {
    let blob_dir = TempDir::new().unwrap();
    let first_disk = TempDir::new().unwrap();
    let s = session("shop");

    // Arrange: a session writes its keys (they sit in the WAL) and backs them up.
    let creds = CredsStore::new(first_disk.path(), blobs(blob_dir.path()));
    assert_eq!(creds.restore(&s).await.unwrap(), Restored::Fresh);
    let bytes = write_identity_and_back_up(&creds, &s, [42u8; 32]).await;
    assert!(bytes > 0);

    // Act: "restart" on a host with an empty disk and a reopened blob store.
    let second_disk = TempDir::new().unwrap();
    let creds = CredsStore::new(second_disk.path(), blobs(blob_dir.path()));
    assert_eq!(creds.restore(&s).await.unwrap(), Restored::FromBlob);
    let store = open_db(&creds, &s).await;

    // Assert
    assert_eq!(store.load_identity(DEVICE).await.unwrap(), Some([42u8; 32]));
    assert_eq!(creds.restore(&s).await.unwrap(), Restored::Local);
    let snapshots = std::fs::read_dir(first_disk.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().contains(".snapshot-"))
        })
        .count();
    assert_eq!(
        snapshots, 0,
        "the snapshot file is removed after the upload"
    );
}

/// A session runs on host A, moves to host B (A's lease expired), then back to A: A must
/// come back with the keys B wrote, not with its own older file.
async fn a_session_moving_between_hosts_keeps_the_newest_keys(shared: Arc<dyn Blobs>) {
    let (disk_a, disk_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let a = CredsStore::new(disk_a.path(), shared.clone());
    let b = CredsStore::new(disk_b.path(), shared.clone());
    let s = session("moving");
    let identity = async |store: &CredsStore| {
        let db = open_db(store, &s).await;
        db.load_identity(DEVICE).await.unwrap()
    };

    // On A: keys written, backed up; A restarts and keeps its local file.
    assert_eq!(a.restore(&s).await.unwrap(), Restored::Fresh);
    write_identity_and_back_up(&a, &s, [1u8; 32]).await;
    assert_eq!(a.restore(&s).await.unwrap(), Restored::Local);

    // B takes over: restores A's backup, then the keys change there and B backs up.
    assert_eq!(b.restore(&s).await.unwrap(), Restored::FromBlob);
    assert_eq!(identity(&b).await, Some([1u8; 32]));
    write_identity_and_back_up(&b, &s, [2u8; 32]).await;

    // Back on A: its local file is stale; B's backup replaces it.
    assert_eq!(a.restore(&s).await.unwrap(), Restored::FromBlob);
    assert_eq!(identity(&a).await, Some([2u8; 32]));
    assert_eq!(a.restore(&s).await.unwrap(), Restored::Local);
}

#[tokio::test]
async fn a_session_moving_between_hosts_keeps_the_newest_keys_on_the_file_system() {
    let blob_dir = TempDir::new().unwrap();
    a_session_moving_between_hosts_keeps_the_newest_keys(blobs(blob_dir.path())).await;
}

/// The same on S3 (moto, started by `scripts/test.sh`), server-side encrypted as in the cloud.
#[tokio::test]
async fn a_session_moving_between_hosts_keeps_the_newest_keys_on_s3() {
    let endpoint = std::env::var("WAGATE_TEST_AWS_ENDPOINT").expect(
        "WAGATE_TEST_AWS_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts moto",
    );
    let unique = wagate_core::random_token(10).to_lowercase();
    let s3 = wagate_aws::S3Blobs::new(&wagate_aws::AwsSettings::emulator(&endpoint, &unique).await);
    s3.ensure_bucket().await.unwrap();
    a_session_moving_between_hosts_keeps_the_newest_keys(Arc::new(s3)).await;
}

#[tokio::test]
async fn deleting_credentials_removes_the_file_and_the_backup() {
    let blob_dir = TempDir::new().unwrap();
    let disk = TempDir::new().unwrap();
    let s = session("clinic");
    let b = blobs(blob_dir.path());
    let creds = CredsStore::new(disk.path(), b.clone());
    creds.restore(&s).await.unwrap();
    let store = open_db(&creds, &s).await;
    creds.backup(&s, &store).await.unwrap();
    drop(store);
    assert!(b.get(&blob_key(&s)).await.unwrap().is_some());

    creds.delete(&s).await.unwrap();

    assert!(b.get(&blob_key(&s)).await.unwrap().is_none());
    assert!(!creds.db_path(&s).exists());
    assert_eq!(creds.restore(&s).await.unwrap(), Restored::Fresh);
}

/// A transport that never reaches WhatsApp: it fails at once, or hangs until dropped.
struct NoNetwork {
    attempts: Arc<AtomicUsize>,
    hang: bool,
}

#[async_trait::async_trait]
impl TransportFactory for NoNetwork {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.hang {
            std::future::pending::<()>().await;
        }
        anyhow::bail!("network unreachable (test)")
    }
}

fn offline_connector(dir: &TempDir, hang: bool) -> (WhatsAppConnector, Arc<AtomicUsize>) {
    let attempts = Arc::new(AtomicUsize::new(0));
    let mut options = WhatsAppOptions::new(dir.path().join("whatsapp"));
    options.transport = Some(Arc::new(NoNetwork {
        attempts: attempts.clone(),
        hang,
    }));
    options.http = Some(Arc::new(NoHttp));
    options.version = Some((2, 3000, 1_000_000_000));
    let connector = WhatsAppConnector::new(blobs(&dir.path().join("blobs")), options);
    (connector, attempts)
}

async fn connect(connector: &WhatsAppConnector, name: &str) -> Connected {
    connector
        .connect(&session(name), &Default::default())
        .await
        .unwrap()
}

/// `fut`'s output, failing with `what` if it takes more than 30 s.
async fn within_30s<T>(fut: impl Future<Output = T>, what: &str) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} within 30 s"))
}

#[tokio::test]
async fn connecting_without_a_network_reports_closed_and_ends_the_stream() {
    let dir = TempDir::new().unwrap();
    let (connector, attempts) = offline_connector(&dir, false);

    let mut connected = connect(&connector, "offline").await;

    let first = within_30s(connected.events.recv(), "an event").await;
    assert!(
        matches!(&first, Some(ConnectorEvent::Closed { reason }) if reason.contains("could not connect")),
        "{first:?}"
    );
    let end = within_30s(connected.events.recv(), "the stream ends").await;
    assert_eq!(end, None);
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "one connection per connect"
    );
    connected.connection.disconnect().await;
}

#[tokio::test]
async fn a_session_that_never_connected_shuts_down() {
    let dir = TempDir::new().unwrap();
    let (connector, attempts) = offline_connector(&dir, true);
    let mut connected = connect(&connector, "never").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    within_30s(connected.connection.disconnect(), "disconnect returns").await;

    let end = within_30s(connected.events.recv(), "the stream ends").await;
    assert_eq!(end, None, "a stopped connection reports nothing more");
    assert!(attempts.load(Ordering::SeqCst) <= 1);
}

#[tokio::test]
async fn reconnects_each_build_a_new_client_on_the_same_store() {
    let dir = TempDir::new().unwrap();
    let (connector, attempts) = offline_connector(&dir, false);
    let s = session("again");
    for round in 1..=3 {
        let mut c = connector.connect(&s, &Default::default()).await.unwrap();
        let ev = within_30s(c.events.recv(), "an event").await;
        assert!(matches!(ev, Some(ConnectorEvent::Closed { .. })), "{ev:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), round);
    }
    assert!(connector.creds().db_path(&s).exists());
}

/// A socket that opens and then says nothing: what the client sends goes nowhere, nothing
/// ever comes back (the connection a dead middlebox leaves behind).
#[derive(Default)]
struct SilentNet {
    sent: Arc<AtomicUsize>,
    /// Keeps each socket's event channel open: it stays silent rather than closed.
    keep: std::sync::Mutex<Vec<async_channel::Sender<TransportEvent>>>,
}

struct SilentSocket(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Transport for SilentSocket {
    async fn send(&self, data: bytes::Bytes) -> anyhow::Result<()> {
        self.0.fetch_add(data.len(), Ordering::SeqCst);
        Ok(())
    }

    async fn disconnect(&self) {}
}

#[async_trait::async_trait]
impl TransportFactory for SilentNet {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        let (tx, rx) = async_channel::unbounded();
        tx.send(TransportEvent::Connected).await?;
        self.keep.lock().unwrap().push(tx);
        Ok((Arc::new(SilentSocket(self.sent.clone())), rx))
    }
}

/// The watchdog's input on the real connector: a client on a socket that never answers has
/// heard nothing (`last_traffic_ms` is `None`, not "now"), however long it waits, and never
/// reports the session open.
#[tokio::test]
async fn a_silent_socket_gives_the_watchdog_no_traffic() {
    let dir = TempDir::new().unwrap();
    let net = Arc::new(SilentNet::default());
    let mut options = WhatsAppOptions::new(dir.path().join("whatsapp"));
    options.transport = Some(net.clone());
    options.http = Some(Arc::new(NoHttp));
    options.version = Some((2, 3000, 1_000_000_000));
    let connector = WhatsAppConnector::new(blobs(&dir.path().join("blobs")), options);
    let mut connected = connect(&connector, "silent").await;

    within_30s(
        async {
            while net.sent.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
        "the client greets the server",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(connected.connection.last_traffic_ms(), None);
    let pending = tokio::time::timeout(Duration::from_millis(100), connected.events.recv()).await;
    assert!(
        !matches!(pending, Ok(Some(ConnectorEvent::Open { .. }))),
        "{pending:?}"
    );
    within_30s(connected.connection.disconnect(), "disconnect returns").await;
}
