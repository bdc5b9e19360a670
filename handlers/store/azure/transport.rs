//! One HTTP client for every Azure SDK client (Blob, Queue, Key Vault, managed identity),
//! created on the first request rather than at start-up: building a TLS client loads the
//! system's root certificates (a few milliseconds each), which would otherwise be paid once per
//! SDK client on every cold start. Sharing it also shares the connection pool.

use std::sync::{Arc, OnceLock};

use tracing::Instrument;

use azure_core::http::{
    AsyncRawResponse, HttpClient, HttpClientOptions, Request, Transport, new_http_client,
};

#[derive(Debug, Default)]
struct LazyHttpClient(OnceLock<Arc<dyn HttpClient>>);

#[async_trait::async_trait]
impl HttpClient for LazyHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let client = self.0.get_or_init(|| {
            // Storage needs the body as sent (checksums, ranged downloads): no decoding.
            new_http_client(Some(HttpClientOptions {
                automatic_decompression: false,
            }))
        });
        let url = request.url();
        let host = url.host_str().unwrap_or_default();
        // The container, queue or secret: enough to group calls, never a signature or a name.
        let resource = url
            .path_segments()
            .and_then(|mut s| s.find(|s| !s.is_empty() && !s.starts_with("devstoreaccount")))
            .unwrap_or_default();
        let span = crate::telemetry::dependency(
            service(host),
            &format!("{} {resource}", request.method()),
            host,
        );
        let response = client
            .execute_request(request)
            .instrument(span.clone())
            .await;
        if let Ok(response) = &response {
            span.in_scope(|| crate::telemetry::record_status(u16::from(response.status())));
        }
        response
    }
}

/// The dependency type Application Insights shows for a call to `host`.
fn service(host: &str) -> &'static str {
    if host.contains(".blob.") {
        "Azure blob"
    } else if host.contains(".queue.") {
        "Azure queue"
    } else if host.contains(".vault.") {
        "Azure Key Vault"
    } else if host == "169.254.169.254" || host.starts_with("localhost") {
        "Azure managed identity"
    } else {
        "Azure storage"
    }
}

/// The shared transport, to put in every SDK client's `ClientOptions`.
pub fn shared() -> Transport {
    static TRANSPORT: OnceLock<Transport> = OnceLock::new();
    TRANSPORT
        .get_or_init(|| Transport::new(Arc::new(LazyHttpClient::default())))
        .clone()
}
