//! The doors outside `/api` that run functions (`POST /<FunctionName>`, and locally
//! `POST /admin/functions/{name}`) refuse what a web page can send. A page the developer
//! opens may post a "simple" cross-site request (a form, or `fetch` in `no-cors` mode) to
//! 127.0.0.1 without any preflight: such a request carries the page's `Origin`, and its body is
//! form or text. The Functions host sends no `Origin` and sends JSON; the local dev host
//! calls dispatch in-process and never comes through here.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The handler's own origins: how a page it served itself would name it (loopback by address
/// or name, and the public base URL). Compared with the fixed list, not with `Host`, so a
/// DNS-rebound name does not count as our own.
fn own_origins(state: &AppState) -> Vec<String> {
    let port = state.settings.port;
    let mut origins = vec![
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ];
    if let Some(url) = &state.settings.public_base_url {
        origins.push(url.origin().ascii_serialization());
    }
    origins
}

/// Whether the request carries a body (a declared length above 0, or a chunked one).
fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

/// Route middleware: 403 for a foreign `Origin`, 415 for a body that is not JSON. An empty
/// body needs no type (`/admin/functions/{name}` runs a timer with no input); a browser can
/// only send one with its `Origin`, which the first check refuses.
pub async fn same_origin_json(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = origin
            .to_str()
            .is_ok_and(|o| own_origins(&state).iter().any(|own| own == o));
        if !own {
            return ApiError::new(
                Code::CrossOrigin,
                "Functions can only be run from this handler's own origin.",
            )
            .into_response();
        }
    }
    if has_body(headers) && !is_json(headers) {
        return ApiError::new(
            Code::UnsupportedMediaType,
            "Send the invocation as JSON with Content-Type: application/json.",
        )
        .into_response();
    }
    next.run(request).await
}
