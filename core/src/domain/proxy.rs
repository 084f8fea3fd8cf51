//! An HTTP(S) proxy for a session's WhatsApp connection (`HTTPS_PROXY`, or `proxy` on the
//! session). Parsed once at the boundary; the password never reaches a log or an API answer.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// `http://[user:password@]host:port` or `https://…`: a proxy that tunnels with `CONNECT`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyUrl {
    raw: String,
    tls: bool,
    host: String,
    port: u16,
    auth: Option<(String, String)>,
}

impl ProxyUrl {
    /// Parses a proxy URL; `field` names it in the error.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, ValidationError> {
        let bad = |why: &str| ValidationError::new(field, why.to_owned());
        let raw = raw.trim();
        // `host:port` alone is how many tools write a proxy: take it as http.
        let with_scheme = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| bad(&format!("not a proxy URL ({e}); expected http://host:port")))?;
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(bad(&format!(
                    "{other}:// proxies are not supported; use an http:// or https:// proxy \
                     (one that tunnels with CONNECT)"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("needs a host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| bad("needs a port"))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a proxy URL has no path, query or fragment"));
        }
        let auth = (!url.username().is_empty()).then(|| {
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            )
        });
        Ok(Self {
            raw: with_scheme,
            tls,
            host,
            port,
            auth,
        })
    }

    /// Whether the proxy itself is reached over TLS (`https://`).
    pub fn tls(&self) -> bool {
        self.tls
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// User name and password for `Proxy-Authorization: Basic`.
    pub fn auth(&self) -> Option<(&str, &str)> {
        self.auth.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// The URL as given, password included: for the connection only, never for display.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with the password replaced by `***`, for logs and API answers.
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match &self.auth {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}:{}", self.port),
            None => format!("{scheme}://{host}:{}", self.port),
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl TryFrom<String> for ProxyUrl {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s, "proxy")
    }
}

impl From<ProxyUrl> for String {
    fn from(p: ProxyUrl) -> Self {
        p.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_proxies_parse_with_their_parts() {
        let p = ProxyUrl::parse("http://proxy.corp:3128", "proxy").unwrap();
        assert!(!p.tls());
        assert_eq!((p.host(), p.port(), p.auth()), ("proxy.corp", 3128, None));

        let p = ProxyUrl::parse("https://u%40corp:p%3Ass@10.0.0.5", "proxy").unwrap();
        assert!(p.tls());
        assert_eq!(p.port(), 443);
        assert_eq!(p.auth(), Some(("u@corp", "p:ss")));

        let p = ProxyUrl::parse("proxy.corp:8080", "proxy").unwrap();
        assert_eq!((p.tls(), p.port()), (false, 8080));
        let p = ProxyUrl::parse("http://[::1]:3128", "proxy").unwrap();
        assert_eq!(p.host(), "::1");
    }

    #[test]
    fn the_password_never_shows() {
        let p = ProxyUrl::parse("http://bob:hunter2@proxy.corp:3128", "proxy").unwrap();
        assert_eq!(p.redacted(), "http://bob:***@proxy.corp:3128");
        assert!(!format!("{p:?} {p}").contains("hunter2"));
        assert!(p.expose().contains("hunter2"));
    }

    #[test]
    fn other_schemes_paths_and_garbage_are_refused() {
        for bad in [
            "socks5://proxy:1080",
            "ftp://proxy:21",
            "http://proxy:3128/path",
            "http://proxy:3128/?q=1",
            "http://",
            "not a url at all",
        ] {
            let e = ProxyUrl::parse(bad, "proxy").unwrap_err();
            assert_eq!(e.field, "proxy", "{bad}");
        }
    }
}
