//! Azure Communication Services Email over REST (`POST {endpoint}/emails:send`, api-version
//! 2023-03-31), authorised with the resource's access key by HMAC-SHA256 as the ACS REST docs
//! describe ("Sign an HTTP request with HMAC"). Hand-written because no maintained 1.x Rust
//! SDK for ACS Email exists.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::Email;
use crate::settings::Secret;

const API_VERSION: &str = "2023-03-31";

pub struct AcsEmail {
    endpoint: url::Url,
    key: Vec<u8>,
    sender: String,
    /// Built on the first email, not at start-up (a TLS client costs milliseconds to make).
    http: std::sync::OnceLock<reqwest::Client>,
}

impl AcsEmail {
    pub fn new(endpoint: url::Url, key: Secret, sender: String) -> anyhow::Result<Self> {
        let key = STANDARD
            .decode(key.expose())
            .map_err(|_| anyhow::anyhow!("setting ACS_EMAIL_KEY: not base64"))?;
        Ok(Self {
            endpoint,
            key,
            sender,
            http: std::sync::OnceLock::new(),
        })
    }

    pub fn endpoint(&self) -> &url::Url {
        &self.endpoint
    }

    /// The headers of an HMAC-signed request: (x-ms-date, x-ms-content-sha256, Authorization).
    pub fn sign(&self, method: &str, url: &url::Url, body: &[u8], date: &str) -> (String, String) {
        let content_hash = STANDARD.encode(Sha256::digest(body));
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let string_to_sign = format!("{method}\n{path_and_query}\n{date};{host};{content_hash}");
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(string_to_sign.as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        (
            content_hash,
            format!(
                "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
            ),
        )
    }

    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        // Not Url::join: "emails:send" would parse as a URL with the scheme "emails".
        let mut url = self.endpoint.clone();
        let path = format!("{}/emails:send", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        let mut content = json!({"subject": email.subject, "plainText": email.text});
        if let Some(html) = &email.html {
            content["html"] = json!(html);
        }
        let body = serde_json::to_vec(&json!({
            "senderAddress": self.sender,
            "recipients": {"to": [{"address": email.to}]},
            "content": content,
        }))?;
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let (content_hash, authorization) = self.sign("POST", &url, &body, &date);
        let http = self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("a client with a timeout builds")
        });
        let span = crate::telemetry::dependency(
            "Azure Communication Services",
            "POST emails:send",
            self.endpoint.host_str().unwrap_or_default(),
        );
        let response = http
            .post(url)
            .header("content-type", "application/json")
            .header("x-ms-date", date)
            .header("x-ms-content-sha256", content_hash)
            .header("authorization", authorization)
            // The email's id names the operation, so a retried delivery is the same operation.
            .header("operation-id", &email.id)
            .body(body)
            .send()
            .instrument(span.clone())
            .await?;
        let status = response.status();
        span.in_scope(|| crate::telemetry::record_status(status.as_u16()));
        if status.is_success() {
            return Ok(());
        }
        let detail = response.text().await.unwrap_or_default();
        anyhow::bail!("ACS email answered {status}: {detail}")
    }
}
