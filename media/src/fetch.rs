//! Fetching media by URL without becoming a proxy into the private network. Every hop of a
//! redirect chain is checked: the scheme, an address written in the URL, and every address a
//! host name resolves to. The check sits in the HTTP client's resolver, so the connection goes
//! to the very addresses that were checked: a DNS answer that changes between the check and
//! the connect (rebinding) has no second lookup to hide in. Proxies are not used for fetches
//! (a proxy would resolve names itself, past the check).

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::config::MediaConfig;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL (or a redirect) points somewhere wagate does not fetch from.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached or did not give the file.
    #[error("{0}")]
    Failed(String),
    /// The server announced a body larger than the cap.
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
}

/// A resolver refusal, carried through reqwest's error chain back to [`Fetcher::open`].
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refused {}

/// Resolves like the system does, then refuses the whole name if any of its addresses is
/// private: a name that answers with one public and one private address is not trusted.
#[derive(Debug)]
struct GuardedResolver {
    config: Arc<MediaConfig>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let config = self.config.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                if let Some(why) = config.allow.check(Some(&host), a.ip()) {
                    return Err(Box::new(Refused(format!(
                        "host '{host}' resolves to {why}; wagate does not fetch media from \
                         private networks (an operator can allow a host with MEDIA_ALLOW_PRIVATE)"
                    ))) as Box<dyn StdError + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: Arc<MediaConfig>,
}

impl Fetcher {
    pub fn new(config: Arc<MediaConfig>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                config: config.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(config.connect_timeout)
            .timeout(config.fetch_timeout)
            .user_agent(concat!("wagate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, config })
    }

    pub fn config(&self) -> &MediaConfig {
        &self.config
    }

    /// GETs `raw`, following redirects hop by hop, and returns the response whose body is
    /// still to be read. `limit` refuses a body announced larger; the reader must still cap
    /// what it reads (a server can send more than it announced, or announce nothing).
    pub async fn open(&self, raw: &str, limit: u64) -> Result<reqwest::Response, FetchError> {
        let mut url = Url::parse(raw.trim())
            .map_err(|e| FetchError::Refused(format!("'{raw}' is not a valid URL ({e})")))?;
        for _ in 0..=self.config.max_redirects {
            self.check_url(&url)?;
            let resp = self
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| describe(&e, &url))?;
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        FetchError::Failed(format!("{url} answered {status} without a Location"))
                    })?;
                url = url.join(location).map_err(|e| {
                    FetchError::Refused(format!("{url} redirects to an invalid URL ({e})"))
                })?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!("{url} answered {status}")));
            }
            if let Some(size) = resp.content_length().filter(|n| *n > limit) {
                return Err(FetchError::TooLarge { size, limit });
            }
            return Ok(resp);
        }
        Err(FetchError::Failed(format!(
            "more than {} redirects",
            self.config.max_redirects
        )))
    }

    /// What can be decided from the URL alone: the scheme, credentials, and an address
    /// written as the host (the resolver never sees those).
    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!(
                "scheme '{}' is not fetched; use http or https",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Refused(
                "URLs with credentials are not fetched".into(),
            ));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(FetchError::Refused("the URL names no host".into())),
        };
        match self.config.allow.check(None, ip) {
            Some(why) => Err(FetchError::Refused(format!(
                "{ip} is {why}; wagate does not fetch media from private networks \
                 (an operator can allow an address with MEDIA_ALLOW_PRIVATE)"
            ))),
            None => Ok(()),
        }
    }
}

/// The body of a fetched response as a stream of chunks.
pub fn body(resp: reqwest::Response) -> impl Stream<Item = Result<Bytes, FetchError>> + Unpin {
    let url = resp.url().clone();
    resp.bytes_stream()
        .map(move |r| r.map_err(|e| describe(&e, &url)))
}

/// Reads a whole (small) body, stopping as soon as it passes `limit`.
pub async fn read_capped(resp: reqwest::Response, limit: u64) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    let mut stream = body(resp);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(FetchError::TooLarge {
                size: (out.len() + chunk.len()) as u64,
                limit,
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn describe(e: &reqwest::Error, url: &Url) -> FetchError {
    let mut src: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return FetchError::Refused(r.0.clone());
        }
        src = s.source();
    }
    let host = url.host_str().unwrap_or("?");
    if e.is_timeout() {
        FetchError::Failed(format!("fetching from {host} timed out"))
    } else if e.is_connect() {
        FetchError::Failed(format!("could not connect to {host}"))
    } else {
        FetchError::Failed(format!("fetching from {host} failed: {e}"))
    }
}
