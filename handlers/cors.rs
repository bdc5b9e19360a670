//! CORS for frontends on another origin, only when `CORS_ORIGINS` names them. tower-http's
//! `CorsLayer` does the protocol; this wrapper only lets it see requests from an allowed
//! origin, because on its own it answers every `OPTIONS` and sets `Allow-Methods`,
//! `Allow-Headers` and `Allow-Credentials` whatever the origin. Any other origin, or a request
//! with no `Origin`, passes through untouched: no CORS headers, so the browser blocks the read.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

struct Cors {
    origins: Vec<HeaderValue>,
    layer: CorsLayer,
}

/// What a browser may send besides the CORS-safelisted headers: the ones the API reads.
const ALLOWED_HEADERS: [HeaderName; 5] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_NONE_MATCH,
    HeaderName::from_static("x-requested-with"),
    HeaderName::from_static("x-request-id"),
];

/// What a page's script may read besides the safelisted response headers.
const EXPOSED_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("x-request-id"),
    header::RETRY_AFTER,
    header::ETAG,
    header::LOCATION,
];

/// Wraps `app` in CORS for `origins` (already validated and normalised by the settings);
/// with none, `app` is returned as it is and no answer carries a CORS header.
pub fn layer(app: Router, origins: &[String]) -> Router {
    if origins.is_empty() {
        return app;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).expect("origins are validated at start-up"))
        .collect();
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.clone()))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(Duration::from_secs(600));
    app.layer(middleware::from_fn_with_state(
        Arc::new(Cors { origins, layer }),
        cors,
    ))
}

async fn cors(State(cors): State<Arc<Cors>>, request: Request, next: Next) -> Response {
    let allowed = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| cors.origins.contains(origin));
    let mut response = if allowed {
        let preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let mut response = match cors.layer.layer(next).oneshot(request).await {
            Ok(response) => response.into_response(),
            Err(never) => match never {},
        };
        // The layer answers a preflight 200 with an empty body; 204 says there is none.
        if preflight && response.status() == StatusCode::OK {
            *response.status_mut() = StatusCode::NO_CONTENT;
        }
        response
    } else {
        next.run(request).await
    };
    // Answers differ by origin, so shared caches must key on it (the layer adds its own
    // `Vary` on the answers it touches).
    if !allowed {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
