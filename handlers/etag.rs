//! Validators for public reads: a strong `ETag` that is a hash of the exact body, a short
//! public `Cache-Control`, and `304 Not Modified` with no body when `If-None-Match` names the
//! current tag (or is `*`). Hashing the serialised answer makes the tag follow everything
//! that shapes it (query parameters, cache versions, counts) with nothing to keep in step.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// `If-None-Match`, for the OpenAPI document of the routes that answer through [`json`].
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatch {
    /// An `ETag` (or a list of them, or `*`) from an earlier answer: 304 while it is current.
    #[param(rename = "If-None-Match")]
    #[allow(dead_code)]
    if_none_match: Option<String>,
}

/// `value` as JSON with its validators, or a bare 304 when the caller already holds it.
/// `cache_control` is sent on both, so a 304 refreshes the caller's freshness too.
pub fn json<T: Serialize>(
    request: &HeaderMap,
    value: &T,
    cache_control: &'static str,
) -> ApiResult<Response> {
    let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
    let tag = tag(&body);
    let validators = [
        (
            header::ETAG,
            HeaderValue::from_str(&tag).expect("base64url"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ),
    ];
    if matches(request, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, validators).into_response());
    }
    Ok((
        validators,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

fn tag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    // 128 bits of the hash are plenty to tell versions apart.
    let short = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    format!("\"{short}\"")
}

/// `If-None-Match` uses the weak comparison (RFC 9110 13.1.2): `W/"x"` matches `"x"`.
fn matches(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let tag = tag(b"{}");
        assert!(matches(&with(&tag), &tag));
        assert!(matches(&with(&format!("\"other\", W/{tag}")), &tag));
        assert!(matches(&with("*"), &tag));
        assert!(!matches(&with("\"other\""), &tag));
        assert!(!matches(&HeaderMap::new(), &tag));
        assert_ne!(tag, super::tag(b"{ }"), "the tag follows every byte");
    }
}
