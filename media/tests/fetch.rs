//! The SSRF guard against real sockets: a loopback server counts every request it gets, and
//! no URL that names, resolves to or redirects to a private address may reach it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use wagate_media::{AllowList, FetchError, Fetcher, MediaConfig};

const PNG_HEAD: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// A server on `ip` that counts hits; `/redirect?to=URL` answers 302 to `URL`.
async fn server(ip: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let count = move || {
        h.fetch_add(1, Ordering::SeqCst);
    };
    let c1 = count.clone();
    let c2 = count.clone();
    let c3 = count.clone();
    let c4 = count.clone();
    let app = Router::new()
        .route(
            "/file.png",
            get(move || async move {
                c1();
                ([(header::CONTENT_TYPE, "image/png")], PNG_HEAD)
            }),
        )
        .route(
            "/redirect",
            get(
                move |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    c2();
                    (StatusCode::FOUND, [(header::LOCATION, q["to"].clone())]).into_response()
                },
            ),
        )
        .route(
            "/loop",
            get(move || async move {
                c3();
                (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response()
            }),
        )
        .route(
            "/slow",
            get(move || async move {
                c4();
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .fallback(move || async move {
            count();
            "secret"
        });
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

fn fetcher(allow: &[&str], timeout: Duration) -> Fetcher {
    let config = MediaConfig {
        allow: AllowList::parse(&allow.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap(),
        fetch_timeout: timeout,
        max_redirects: 3,
        ..MediaConfig::default()
    };
    Fetcher::new(Arc::new(config)).unwrap()
}

#[tokio::test]
async fn private_addresses_are_refused_and_never_contacted() {
    let (secret, hits) = server("127.0.0.1").await;
    // A trusted host the operator allowed, which redirects to the private one.
    let (trusted, trusted_hits) = server("127.0.0.2").await;
    let f = fetcher(&["127.0.0.2/32"], Duration::from_secs(5));
    let port = secret.port();
    let to = |target: &str| format!("http://{trusted}/redirect?to={target}");
    let refused = [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://[::1]:{port}/x"),
        format!("http://[::ffff:127.0.0.1]:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://localhost:{port}/x"),
        "http://10.0.0.1/x".into(),
        "http://172.16.0.1/x".into(),
        "http://192.168.1.1/x".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[fd00::1]/x".into(),
        "file:///etc/passwd".into(),
        format!("gopher://127.0.0.1:{port}/x"),
        format!("http://user:pw@{trusted}/file.png"),
        to(&format!("http://127.0.0.1:{port}/secret")),
        to(&format!("http://localhost:{port}/secret")),
        to("http://169.254.169.254/latest/meta-data/"),
        to("file:///etc/passwd"),
    ];
    for url in &refused {
        match f.open(url, 1 << 20).await {
            Err(FetchError::Refused(why)) => assert!(!why.is_empty()),
            other => panic!("{url}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the private server was contacted"
    );
    // The first hops were made: the four redirecting URLs above reach the trusted host.
    assert_eq!(trusted_hits.load(Ordering::SeqCst), 4);

    let why = match f.open("http://169.254.169.254/", 1).await {
        Err(FetchError::Refused(why)) => why,
        other => panic!("{other:?}"),
    };
    assert!(why.contains("link-local"), "{why}");
}

#[tokio::test]
async fn allowed_hosts_are_fetched_with_caps_redirect_budget_and_timeout() {
    let (trusted, hits) = server("127.0.0.2").await;
    let f = fetcher(&["127.0.0.2"], Duration::from_millis(500));
    let resp = f
        .open(&format!("http://{trusted}/file.png"), 1 << 20)
        .await
        .unwrap();
    let body = wagate_media::fetch::read_capped(resp, 1 << 20)
        .await
        .unwrap();
    assert_eq!(body, PNG_HEAD);

    // Announced larger than the cap: refused before the body is read.
    match f.open(&format!("http://{trusted}/file.png"), 4).await {
        Err(FetchError::TooLarge { size, limit: 4 }) => assert_eq!(size, PNG_HEAD.len() as u64),
        other => panic!("{other:?}"),
    }
    // Redirects within the host are followed, but not forever.
    let local = format!("http://{trusted}/file.png");
    assert!(
        f.open(&format!("http://{trusted}/redirect?to={local}"), 1 << 20)
            .await
            .is_ok()
    );
    match f.open(&format!("http://{trusted}/loop"), 1 << 20).await {
        Err(FetchError::Failed(why)) => assert!(why.contains("redirects"), "{why}"),
        other => panic!("{other:?}"),
    }
    match f.open(&format!("http://{trusted}/slow"), 1 << 20).await {
        Err(FetchError::Failed(why)) => assert!(why.contains("timed out"), "{why}"),
        other => panic!("{other:?}"),
    }
    match f
        .open(&format!("http://{trusted}/missing.png"), 1 << 20)
        .await
    {
        Ok(_) => {} // the fallback answers 200 "secret" for any other path
        Err(e) => panic!("{e}"),
    }
    assert!(hits.load(Ordering::SeqCst) >= 8);
}
