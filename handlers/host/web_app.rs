//! The reference web app in local mode: the built `web/dist` (setting `WEB_DIR`) served at `/`,
//! so `cargo run` and http://127.0.0.1:7071/ give a working app with no Node installed. In Azure
//! the Static Web App serves it, with the same rules in `web/staticwebapp.config.json`, and this
//! is not mounted.
//!
//! A path whose last segment has no dot is a page of the app (the app routes it): it answers
//! `index.html`, as the Static Web App's navigation fallback does. Any other path is a file of
//! the build, or 404. Nothing under `/api` reaches here.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// What the app's pages may load: their own scripts and styles (inline styles for the
/// `style` properties the UI sets), images and media from this origin or in memory (previews,
/// avatars, course video through the local blob route), and calls and the realtime socket to
/// this origin.
const PAGE_CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
);
/// Build outputs under `/assets/` carry a content hash in their names.
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// The page itself must be revalidated, so a new build is picked up at once.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");

/// Whether `path` names a page of the app rather than a file of the build.
fn is_page(path: &str) -> bool {
    !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// The fallback of every path no route matched, in local mode.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::not_found("No route matches this path.").into_response();
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::new(
            Code::MethodNotAllowed,
            "This path does not accept that method.",
        )
        .into_response();
    }
    let dir = &state.settings.web_dir;
    let page = is_page(&path);
    // ServeDir resolves the path inside `dir` only (no `..`), and both answer ranges and
    // conditional requests.
    let served = if page {
        ServeFile::new(dir.join("index.html"))
            .oneshot(request)
            .await
    } else {
        ServeDir::new(dir).oneshot(request).await
    };
    let Ok(mut response) = served.map(|r| r.map(Body::new));
    if response.status() == StatusCode::NOT_FOUND {
        if path == "/" {
            // No build here: the service description the host's poll gets.
            return crate::router::root().await.into_response();
        }
        return ApiError::not_found("No route matches this path.").into_response();
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, PAGE_CSP);
    let cache = if !page && path.starts_with("/assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    headers.insert(header::CACHE_CONTROL, cache);
    response
}

#[cfg(test)]
mod tests {
    use super::is_page;

    #[test]
    fn pages_are_paths_without_a_file_name() {
        assert!(is_page("/"));
        assert!(is_page("/courses/abc-123"));
        assert!(is_page("/verify-email"));
        assert!(!is_page("/assets/index-3f2a.js"));
        assert!(!is_page("/favicon.svg"));
    }
}
