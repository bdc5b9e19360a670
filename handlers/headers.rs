//! Security headers on every answer: `nosniff` and `no-referrer` always, a CSP that allows
//! nothing on JSON and problem answers (nothing we answer is meant to render), `no-store` on
//! answers that carry tokens, sessions or personal data, and HSTS when the caller reached us
//! over HTTPS.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, header};
use axum::middleware::{self, Next};
use tower_http::set_header::SetResponseHeaderLayer;

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
const NO_REFERRER: HeaderValue = HeaderValue::from_static("no-referrer");
const CSP: HeaderValue = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

/// Route templates whose answers no cache may keep: tokens, sessions, the profile and the data
/// export. `/api/v1/auth/jwks.json` sets its own public caching, which is kept.
fn private(route: &str) -> bool {
    route.starts_with("/api/v1/auth/")
        || route == "/api/v1/users/me"
        || route.starts_with("/api/v1/users/me/")
}

/// Whether the caller reached the front end over HTTPS. Only the `X-Forwarded-Proto` entry the
/// trusted proxies appended counts (the same hop rule as the client IP: entries to its left
/// are client-supplied); with no trusted hop, or fewer entries than hops, the header is
/// ignored. The handler itself only ever speaks plain HTTP on loopback.
pub fn forwarded_https(headers: &HeaderMap, trusted_hops: usize) -> bool {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    trusted_hops > 0
        && entries.len() >= trusted_hops
        && entries[entries.len() - trusted_hops].eq_ignore_ascii_case("https")
}

/// Route layer: `no-store` on [`private`] routes, unless the handler chose its own policy.
pub async fn no_store(request: Request, next: Next) -> axum::response::Response {
    let private = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|route| private(route.as_str()));
    let mut response = next.run(request).await;
    if private {
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(NO_STORE);
    }
    response
}

async fn hsts(
    State(trusted_hops): State<usize>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let https = forwarded_https(request.headers(), trusted_hops);
    let mut response = next.run(request).await;
    if https {
        response
            .headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}

fn is_json<B>(response: &Response<B>) -> Option<HeaderValue> {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
                || essence.eq_ignore_ascii_case("application/problem+json")
        });
    json.then_some(CSP)
}

/// Wraps the whole app (outside panic recovery and fallbacks, so every answer has them).
pub fn layer(app: Router, trusted_hops: usize) -> Router {
    app.layer(SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static("content-security-policy"),
        is_json,
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        NOSNIFF,
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::REFERRER_POLICY,
        NO_REFERRER,
    ))
    .layer(middleware::from_fn_with_state(trusted_hops, hsts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-proto", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn only_the_trusted_hop_says_https() {
        assert!(forwarded_https(&proto(&["https"]), 1));
        assert!(forwarded_https(&proto(&["HTTPS"]), 1));
        assert!(!forwarded_https(&proto(&["http"]), 1));
        assert!(!forwarded_https(&proto(&[]), 1));
        // The client wrote the left entry; the front end appended the right one.
        assert!(!forwarded_https(&proto(&["https, http"]), 1));
        assert!(forwarded_https(&proto(&["https, http"]), 2));
        assert!(!forwarded_https(&proto(&["https"]), 2));
        assert!(!forwarded_https(&proto(&["https"]), 0), "no proxy trusted");
    }

    #[test]
    fn private_routes_are_auth_and_the_own_profile() {
        assert!(private("/api/v1/auth/login"));
        assert!(private("/api/v1/users/me"));
        assert!(private("/api/v1/users/me/data-export"));
        assert!(!private("/api/v1/users/{id}"));
        assert!(!private("/api/v1/courses"));
    }
}
