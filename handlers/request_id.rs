//! Request ids: taken from `x-request-id` when the caller sent a sane one, otherwise made here;
//! echoed on every response and made available to error rendering through a task-local, so a
//! problem body and the log lines of one request carry the same id.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

fn accept(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_owned())
}

/// Outermost middleware: assigns the id, opens the request span, echoes the header.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(accept)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (invocation_id, traceparent) = (
        header("x-azure-functions-invocationid"),
        header("traceparent"),
    );
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        invocation_id = tracing::field::Empty,
        traceparent = tracing::field::Empty,
    );
    // Present only when the Functions host forwarded the request.
    if let Some(v) = &invocation_id {
        span.record("invocation_id", v.as_str());
    }
    if let Some(v) = &traceparent {
        span.record("traceparent", v.as_str());
    }
    let header_value = HeaderValue::from_str(&id).expect("validated or generated id");
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id, next.run(request))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "served"
        )
    });
    response.headers_mut().insert(HEADER, header_value);
    response
}
