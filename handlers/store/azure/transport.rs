//! One HTTP client for every Azure SDK client (Blob, Queue, Key Vault, managed identity),
//! created on the first request rather than at start-up: building a TLS client loads the
//! system's root certificates (a few milliseconds each), which would otherwise be paid once per
//! SDK client on every cold start. Sharing it also shares the connection pool.

use std::sync::{Arc, OnceLock};

use azure_core::http::{
    AsyncRawResponse, HttpClient, HttpClientOptions, Request, Transport, new_http_client,
};

#[derive(Debug, Default)]
struct LazyHttpClient(OnceLock<Arc<dyn HttpClient>>);

#[async_trait::async_trait]
impl HttpClient for LazyHttpClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        self.0
            .get_or_init(|| {
                // Storage needs the body as sent (checksums, ranged downloads): no decoding.
                new_http_client(Some(HttpClientOptions {
                    automatic_decompression: false,
                }))
            })
            .execute_request(request)
            .await
    }
}

/// The shared transport, to put in every SDK client's `ClientOptions`.
pub fn shared() -> Transport {
    static TRANSPORT: OnceLock<Transport> = OnceLock::new();
    TRANSPORT
        .get_or_init(|| Transport::new(Arc::new(LazyHttpClient::default())))
        .clone()
}
