//! Storage Shared Key authorisation, as a per-try pipeline policy, and service SAS signing with
//! the account key.
//!
//! Written by hand because the 1.x Storage crates authenticate with Entra ID tokens only and
//! `azure_storage_sas` signs user-delegation SAS only; an account key is what Azurite (and a
//! storage account configured with a connection string) uses. Both follow the documented
//! string-to-sign: "Authorize with Shared Key" and "Create a service SAS" in the Storage REST
//! reference.

use std::sync::Arc;

use azure_core::credentials::Secret;
use azure_core::hmac::hmac_sha256;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};
use azure_core::time::{OffsetDateTime, to_rfc7231};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

#[derive(Debug, Clone)]
pub struct SharedKey {
    pub account: String,
    pub key: Secret,
}

impl SharedKey {
    /// The `Authorization` value for a request whose headers are final.
    pub fn authorization(&self, request: &Request) -> azure_core::Result<String> {
        let headers = request.headers();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.as_str() == name)
                .map(|(_, v)| v.as_str().to_owned())
                .unwrap_or_default()
        };
        let content_length = match header("content-length").as_str() {
            "" => request
                .body()
                .len()
                .filter(|n| *n > 0)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            "0" => String::new(),
            n => n.to_owned(),
        };
        let mut ms_headers: Vec<(String, String)> = headers
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("x-ms-"))
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().trim().to_owned()))
            .collect();
        ms_headers.sort();
        let canonical_headers: String = ms_headers
            .iter()
            .map(|(k, v)| format!("{k}:{v}\n"))
            .collect();

        let url = request.url();
        let mut resource = format!("/{}{}", self.account, url.path());
        let mut params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
            .collect();
        params.sort();
        let mut i = 0;
        while i < params.len() {
            let name = params[i].0.clone();
            let mut values = vec![];
            while i < params.len() && params[i].0 == name {
                values.push(params[i].1.clone());
                i += 1;
            }
            values.sort();
            resource.push_str(&format!("\n{name}:{}", values.join(",")));
        }

        let string_to_sign = format!(
            "{verb}\n{ce}\n{cl}\n{len}\n{md5}\n{ct}\n\n{ims}\n{im}\n{inm}\n{ius}\n{range}\n{canonical_headers}{resource}",
            verb = request.method().as_str(),
            ce = header("content-encoding"),
            cl = header("content-language"),
            len = content_length,
            md5 = header("content-md5"),
            ct = header("content-type"),
            ims = header("if-modified-since"),
            im = header("if-match"),
            inm = header("if-none-match"),
            ius = header("if-unmodified-since"),
            range = header("range"),
        );
        let signature = hmac_sha256(&string_to_sign, &self.key)?;
        Ok(format!("SharedKey {}:{signature}", self.account))
    }

    /// A service SAS query string for one blob (`sr=b`), signed with the account key.
    pub fn blob_sas(
        &self,
        container: &str,
        blob: &str,
        permissions: &str,
        expiry: chrono::DateTime<chrono::Utc>,
        headers: &crate::store::ReadHeaders,
    ) -> azure_core::Result<String> {
        const VERSION: &str = "2022-11-02";
        let expiry = expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let resource = format!("/blob/{}/{container}/{blob}", self.account);
        let rscd = headers.content_disposition.as_deref().unwrap_or_default();
        let rsct = headers.content_type.as_deref().unwrap_or_default();
        // permissions, start, expiry, resource, identifier, IP, protocol, version, resource
        // type, snapshot time, encryption scope, then the five response-header overrides
        // (cache control, disposition, encoding, language, type).
        let string_to_sign = format!(
            "{permissions}\n\n{expiry}\n{resource}\n\n\n\n{VERSION}\nb\n\n\n\n{rscd}\n\n\n{rsct}"
        );
        let signature = hmac_sha256(&string_to_sign, &self.key)?;
        // Percent-encoded rather than form-encoded: a `+` for a space would reach the
        // service as a literal plus and break the signature of a disposition with spaces.
        let mut pairs = vec![
            ("sv", VERSION),
            ("sr", "b"),
            ("sp", permissions),
            ("se", &expiry),
        ];
        if !rscd.is_empty() {
            pairs.push(("rscd", rscd));
        }
        if !rsct.is_empty() {
            pairs.push(("rsct", rsct));
        }
        pairs.push(("sig", &signature));
        Ok(pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&"))
    }
}

/// Signs every try (a retry gets a fresh date and signature).
#[derive(Debug)]
pub struct SharedKeyPolicy(pub SharedKey);

#[async_trait::async_trait]
impl Policy for SharedKeyPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        request.insert_header("x-ms-date", to_rfc7231(&OffsetDateTime::now_utc()));
        let authorization = self.0.authorization(request)?;
        request.insert_header("authorization", authorization);
        next[0].send(ctx, request, &next[1..]).await
    }
}
