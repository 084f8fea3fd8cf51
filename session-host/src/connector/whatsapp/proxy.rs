//! WhatsApp's WebSocket through an HTTP(S) proxy. whatsapp-rust dials WhatsApp directly; its
//! documented way to add a proxy is a `TransportFactory` that opens the socket itself and
//! hands the upgraded WebSocket to `from_websocket`. This one asks the proxy for a `CONNECT`
//! tunnel (with `Proxy-Authorization: Basic` when the URL has credentials), then runs TLS to
//! WhatsApp and the WebSocket upgrade inside it: the proxy sees only the host name and
//! encrypted bytes.

use std::sync::Arc;

use anyhow::{Context, bail};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_websockets::ClientBuilder;
use wagate_core::ProxyUrl;
use whatsapp_rust::async_channel;
use whatsapp_rust::transport::{
    Connector, Transport, TransportEvent, TransportFactory, default_tls_connector, from_websocket,
};

/// WhatsApp Web's socket and the origin its upgrade carries.
pub const WHATSAPP_WS_URL: &str = "wss://web.whatsapp.com/ws/chat";
const WHATSAPP_ORIGIN: &str = "https://web.whatsapp.com";

/// The longest proxy answer to `CONNECT` read before giving up on it.
const MAX_CONNECT_RESPONSE: usize = 8 * 1024;

/// Dials WhatsApp (or `url`, in tests) through `proxy`.
pub struct ProxyTransportFactory {
    proxy: ProxyUrl,
    url: http::Uri,
    tls: Connector,
}

impl std::fmt::Debug for ProxyTransportFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTransportFactory")
            .field("proxy", &self.proxy)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ProxyTransportFactory {
    /// WhatsApp through `proxy`.
    pub fn new(proxy: ProxyUrl) -> Self {
        Self::with_url(proxy, WHATSAPP_WS_URL).expect("the WhatsApp URL parses")
    }

    /// `url` (a `ws://` or `wss://` URL) through `proxy`.
    pub fn with_url(proxy: ProxyUrl, url: &str) -> anyhow::Result<Self> {
        let url: http::Uri = url.parse().context("parsing the WebSocket URL")?;
        if url.host().is_none() {
            bail!("the WebSocket URL has no host");
        }
        Ok(Self {
            proxy,
            url,
            tls: default_tls_connector(),
        })
    }

    fn target(&self) -> (String, u16, bool) {
        let tls = self.url.scheme_str() == Some("wss");
        let host = self.url.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = self.url.port_u16().unwrap_or(if tls { 443 } else { 80 });
        (host, port, tls)
    }

    async fn dial(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        let tcp = TcpStream::connect((self.proxy.host(), self.proxy.port()))
            .await
            .with_context(|| format!("connecting to the proxy {}", self.proxy))?;
        let _ = tcp.set_nodelay(true);
        let to_proxy = if self.proxy.tls() {
            &self.tls
        } else {
            &Connector::Plain
        };
        let mut stream = to_proxy
            .wrap(self.proxy.host(), tcp)
            .await
            .with_context(|| format!("TLS to the proxy {}", self.proxy))?;
        let (host, port, tls) = self.target();
        tunnel(&mut stream, &host, port, self.proxy.auth())
            .await
            .with_context(|| format!("CONNECT {host}:{port} through {}", self.proxy))?;
        let to_target = if tls { &self.tls } else { &Connector::Plain };
        let stream = to_target
            .wrap(&host, stream)
            .await
            .with_context(|| format!("TLS to {host} through the proxy"))?;
        let origin = http::HeaderValue::from_static(WHATSAPP_ORIGIN);
        let (ws, _) = ClientBuilder::from_uri(self.url.clone())
            .add_header(http::header::ORIGIN, origin)
            .context("setting the Origin header")?
            .connect_on(stream)
            .await
            .context("the WebSocket upgrade through the proxy")?;
        Ok(from_websocket(ws))
    }
}

#[async_trait]
impl TransportFactory for ProxyTransportFactory {
    async fn create_transport(
        &self,
    ) -> anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)> {
        self.dial().await
    }
}

/// Asks the proxy on `stream` for a tunnel to `host:port` and reads its answer, leaving the
/// stream at the first byte of the tunnel.
pub async fn tunnel<S>(
    stream: &mut S,
    host: &str,
    port: u16,
    auth: Option<(&str, &str)>,
) -> anyhow::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, password)) = auth {
        let token = B64.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;

    // Byte by byte: whatever follows the blank line already belongs to the tunnel.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_CONNECT_RESPONSE {
            bail!("the proxy's answer is longer than {MAX_CONNECT_RESPONSE} bytes");
        }
        if stream.read(&mut byte).await? == 0 {
            bail!("the proxy closed the connection before answering");
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let (version, code) = (parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        bail!("the proxy did not answer in HTTP/1.x: {status_line:?}");
    }
    match code {
        Some("200") => Ok(()),
        Some("407") => bail!("the proxy wants credentials (407): put them in the proxy URL"),
        _ => bail!("the proxy refused the tunnel: {status_line:?}"),
    }
}
