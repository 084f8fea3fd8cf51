//! Fakes of the outside world for tests that must not touch the network.

/// whatsapp-rust's HTTP client that fails every request, as an unreachable network does.
#[cfg(feature = "whatsapp")]
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHttp;

#[cfg(feature = "whatsapp")]
#[async_trait::async_trait]
impl whatsapp_rust::http::HttpClient for NoHttp {
    async fn execute(
        &self,
        _request: whatsapp_rust::http::HttpRequest,
    ) -> anyhow::Result<whatsapp_rust::http::HttpResponse> {
        anyhow::bail!("network unreachable (test)")
    }
}
