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
    // The request span is also the request Application Insights records (`otel.*` fields).
    // It never holds the raw path or query: they carry invite tokens and share-link ids. The
    // route fields stay empty until [`record_route`] names the matched template; a request
    // no route matched is named [`UNMATCHED`].
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        otel.name = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        request_id = %id,
        method = %request.method(),
        path = tracing::field::Empty,
        http.request.method = %request.method(),
        url.path = tracing::field::Empty,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        invocation_id = tracing::field::Empty,
        traceparent = tracing::field::Empty,
    );
    // Present only when the Functions host forwarded the request.
    if let Some(v) = &invocation_id {
        span.record("invocation_id", v.as_str());
    }
    if let Some(v) = &traceparent {
        span.record("traceparent", v.as_str());
        crate::telemetry::adopt_parent(&span, headers);
    }
    let header_value = HeaderValue::from_str(&id).expect("validated or generated id");
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID
        .scope(id, next.run(request))
        .instrument(span.clone())
        .await;
    if response
        .extensions_mut()
        .remove::<RouteRecorded>()
        .is_none()
    {
        span.record("path", UNMATCHED);
        span.record("url.path", UNMATCHED);
        span.record("otel.name", format!("{method} {UNMATCHED}").as_str());
    }
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    if status == 429 {
        crate::telemetry::metrics().throttled.add(1, &[]);
    }
    span.in_scope(|| tracing::info!(status, ms = started.elapsed().as_millis() as u64, "served"));
    response.headers_mut().insert(HEADER, header_value);
    response
}

/// What logs and telemetry show for a request no route matched: its raw path may be anything
/// a caller typed, secrets included.
pub const UNMATCHED: &str = "(unmatched)";

/// Marks an answer whose request span [`record_route`] named.
#[derive(Clone, Copy)]
struct RouteRecorded;

/// Route middleware: names the request span after the route that matched (`GET
/// /api/v1/files/{id}`), so telemetry groups requests by route and logs carry the template,
/// never the path parameters it matched.
pub async fn record_route(request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned()
    else {
        return next.run(request).await;
    };
    let span = tracing::Span::current();
    span.record("http.route", route.as_str());
    span.record("path", route.as_str());
    span.record("url.path", route.as_str());
    span.record(
        "otel.name",
        format!("{} {}", request.method(), route.as_str()).as_str(),
    );
    let mut response = next.run(request).await;
    response.extensions_mut().insert(RouteRecorded);
    response
}
