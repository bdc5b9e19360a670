//! Every error answer of `/api` is problem+json, including the ones no handler wrote: axum's
//! extractor rejections (`Query`, `Path`, a `Json` outside `AppJson`) answer `text/plain`, and
//! a route that takes a query struct would otherwise answer a bad `?limit=x` in a format the
//! contract does not have. This middleware rewrites such a non-JSON answer as the problem of its
//! status, keeping the rejection's text as `detail` for 4xx (it names the parameter, never a
//! secret) and a generic one for 5xx.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Code};

/// How much of a rejection's text is read; axum's are one line.
const MAX_TEXT: usize = 4 * 1024;
/// How much of it goes into `detail`.
const MAX_DETAIL: usize = 300;

pub async fn problem_json(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let Some(code) = code_for(status) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = if status.is_client_error() && !text.is_empty() {
        text.chars().take(MAX_DETAIL).collect()
    } else {
        default_detail(code).to_owned()
    };
    let mut answer = ApiError::new(code, detail).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// A JSON answer is a handler's own: a problem, or a documented JSON error body such as
/// `readyz`'s 503 readiness report. Rejections are text (or have no body).
fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// The code of a bare status. A 422 from an extractor is a body that does not fit its type:
/// the contract answers that as 400 `INVALID_BODY`, as `AppJson` does.
fn code_for(status: StatusCode) -> Option<Code> {
    Some(match status {
        StatusCode::BAD_REQUEST => Code::InvalidRequest,
        StatusCode::UNPROCESSABLE_ENTITY => Code::InvalidBody,
        StatusCode::UNAUTHORIZED => Code::Unauthorized,
        StatusCode::FORBIDDEN => Code::Forbidden,
        StatusCode::NOT_FOUND => Code::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
        StatusCode::CONFLICT => Code::Conflict,
        StatusCode::PRECONDITION_FAILED => Code::PreconditionFailed,
        StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => Code::RateLimited,
        StatusCode::INTERNAL_SERVER_ERROR => Code::Internal,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        _ => return None,
    })
}

fn default_detail(code: Code) -> &'static str {
    match code {
        Code::Internal => "Something went wrong on our side.",
        Code::Unavailable => "A service this request needs is unavailable; retry shortly.",
        _ => "The request could not be handled.",
    }
}
