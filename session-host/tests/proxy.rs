//! The WhatsApp WebSocket through an HTTP proxy, on loopback: a real `CONNECT` proxy that
//! records what it is asked and pipes the tunnel, and a real WebSocket server behind it. Then
//! the connector's wiring: with `HTTPS_PROXY`'s value (or a session's own proxy) set, the
//! client dials WhatsApp through the proxy and nowhere else.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wagate_core::{ProxyUrl, SessionId};
use wagate_host::connector::whatsapp::proxy::ProxyTransportFactory;
use wagate_host::connector::{
    Connector, ConnectorEvent, SessionSettings, WhatsAppConnector, WhatsAppOptions,
};
use wagate_local::FsBlobs;
use wagate_testkit::fakes::NoHttp;
use whatsapp_rust::transport::{TransportEvent, TransportFactory};

/// What a fake proxy was asked: the request head of every connection.
type Seen = Arc<Mutex<Vec<String>>>;

/// A `CONNECT` proxy on loopback answering `status`; on 200 it pipes the tunnel to the
/// requested address.
async fn proxy(status: &'static str) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                log.lock().unwrap().push(head.clone());
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                if client.write_all(reply.as_bytes()).await.is_err() || !status.starts_with("200") {
                    return;
                }
                let target = head.split_whitespace().nth(1).unwrap().to_owned();
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

/// A WebSocket server that greets with a binary `hello` and echoes what it gets.
async fn ws_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok((_, mut ws)) = tokio_websockets::ServerBuilder::new().accept(tcp).await
                else {
                    return;
                };
                let _ = ws
                    .send(tokio_websockets::Message::binary(&b"hello"[..]))
                    .await;
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_binary() && ws.send(msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

async fn next_event(rx: &whatsapp_rust::async_channel::Receiver<TransportEvent>) -> TransportEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a transport event in time")
        .expect("the channel is open")
}

#[tokio::test]
async fn the_websocket_goes_through_the_proxy_tunnel_with_credentials() {
    let (proxy_addr, seen) = proxy("200 Connection established").await;
    let ws_port = ws_server().await;
    let url = ProxyUrl::parse(&format!("http://bob:s3cret@{proxy_addr}"), "proxy").unwrap();
    let factory =
        ProxyTransportFactory::with_url(url, &format!("ws://127.0.0.1:{ws_port}/ws/chat")).unwrap();

    let (transport, events) = factory.create_transport().await.unwrap();

    assert!(matches!(
        next_event(&events).await,
        TransportEvent::Connected
    ));
    match next_event(&events).await {
        TransportEvent::DataReceived(b) => assert_eq!(&b[..], b"hello"),
        other => panic!("{other:?}"),
    }
    transport
        .send(bytes::Bytes::from_static(b"noise frame"))
        .await
        .unwrap();
    match next_event(&events).await {
        TransportEvent::DataReceived(b) => assert_eq!(&b[..], b"noise frame"),
        other => panic!("{other:?}"),
    }
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT 127.0.0.1:{ws_port} HTTP/1.1\r\n")),
        "{heads:?}"
    );
    let token = base64::engine::general_purpose::STANDARD.encode("bob:s3cret");
    assert!(
        heads[0].contains(&format!("Proxy-Authorization: Basic {token}\r\n")),
        "{heads:?}"
    );
    transport.disconnect().await;
}

#[tokio::test]
async fn a_proxy_that_refuses_is_a_clear_error_not_a_direct_connection() {
    let ws_port = ws_server().await;
    for (status, expect) in [
        ("407 Proxy Authentication Required", "407"),
        ("403 Forbidden", "refused the tunnel"),
    ] {
        let (proxy_addr, seen) = proxy(status).await;
        let url = ProxyUrl::parse(&proxy_addr, "proxy").unwrap();
        let factory =
            ProxyTransportFactory::with_url(url, &format!("ws://127.0.0.1:{ws_port}/ws/chat"))
                .unwrap();
        let err = match factory.create_transport().await {
            Ok(_) => panic!("{status}: connected anyway"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains(expect), "{status}: {err}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }
}

/// The connector dials WhatsApp's own host through the proxy; the proxy here refuses, so the
/// connection reports a clean `Closed`.
async fn connect_through(options_proxy: Option<&str>, session_proxy: Option<&str>) -> Seen {
    let dir = TempDir::new().unwrap();
    let blobs = Arc::new(FsBlobs::new(dir.path().join("blobs"), false).unwrap());
    let mut options = WhatsAppOptions::new(dir.path().join("whatsapp"));
    options.http = Some(Arc::new(NoHttp));
    options.version = Some((2, 3000, 1_000_000_000));
    let (default_addr, default_seen) = proxy("403 Forbidden").await;
    let (own_addr, own_seen) = proxy("403 Forbidden").await;
    let pick = |which: &str| match which {
        "default" => default_addr.clone(),
        _ => own_addr.clone(),
    };
    options.proxy = options_proxy.map(|w| ProxyUrl::parse(&pick(w), "proxy").unwrap());
    let settings = SessionSettings {
        proxy: session_proxy.map(|w| ProxyUrl::parse(&pick(w), "proxy").unwrap()),
    };
    let connector = WhatsAppConnector::new(blobs, options);

    let mut c = connector
        .connect(&SessionId::parse("proxied").unwrap(), &settings)
        .await
        .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(30), c.events.recv())
        .await
        .expect("an event in time");
    assert!(matches!(ev, Some(ConnectorEvent::Closed { .. })), "{ev:?}");
    c.connection.disconnect().await;
    if session_proxy.is_some() {
        assert!(
            default_seen.lock().unwrap().is_empty(),
            "the session's own proxy wins"
        );
        own_seen
    } else {
        assert!(own_seen.lock().unwrap().is_empty());
        default_seen
    }
}

#[tokio::test]
async fn the_connector_dials_whatsapp_through_the_default_or_the_sessions_proxy() {
    for (default, own) in [
        (Some("default"), None),
        (Some("default"), Some("own")),
        (None, Some("own")),
    ] {
        let seen = connect_through(default, own).await;
        let heads = seen.lock().unwrap().clone();
        assert!(
            !heads.is_empty(),
            "{default:?}/{own:?}: the proxy was not used"
        );
        assert!(
            heads
                .iter()
                .all(|h| h.starts_with("CONNECT web.whatsapp.com:443 HTTP/1.1\r\n")),
            "{heads:?}"
        );
    }
}
