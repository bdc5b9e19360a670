//! The one error type of the API, rendered as `application/problem+json` (RFC 9457) with the
//! project's extensions `code`, `errors` and `requestId` (DESIGN.md section 4).
//!
//! Internal causes are logged with the request id and never sent to the client.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::request_id;
use crate::store::StoreError;

/// Field name -> messages, for `VALIDATION_FAILED`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine code, e.g. `VALIDATION_FAILED`.
    pub code: &'static str,
    pub detail: String,
    pub errors: Option<FieldErrors>,
    /// Seconds, for 429 and 503 answers.
    pub retry_after: Option<u64>,
    /// The internal cause: logged, never rendered.
    pub source: Option<anyhow::Error>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI naming the problem kind; `about:blank` plus `code` is the stable part.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code such as `VALIDATION_FAILED` or `RATE_LIMITED`.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn validation(errors: FieldErrors) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
            "One or more fields are invalid.",
        );
        e.errors = Some(errors);
        e
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", detail)
    }

    /// A failure the client cannot fix; the cause is logged, the answer says only 500.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "An unexpected error occurred.",
        );
        e.source = Some(source.into());
        e
    }

    /// Adds a field error, so a client can point at the input that caused the answer.
    pub fn with_field(mut self, field: &str, message: impl Into<String>) -> Self {
        self.errors
            .get_or_insert_with(Default::default)
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            request_id: request_id::current(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(cause) => tracing::error!(code = self.code, error = ?cause, "request failed"),
                None => tracing::error!(code = self.code, detail = %self.detail, "request failed"),
            }
        }
        let mut response = (self.status, problem_json(&self.to_problem())).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Serialises a problem with its media type.
pub fn problem_json(problem: &Problem) -> impl IntoResponse + use<> {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("The resource does not exist."),
            StoreError::Conflict => ApiError::conflict("CONFLICT", "The resource already exists."),
            StoreError::PreconditionFailed => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION_FAILED",
                "The resource was changed by another request; read it again and retry.",
            ),
            StoreError::Unavailable(cause) => {
                let mut err =
                    ApiError::unavailable("A backing service is unavailable; retry shortly.")
                        .with_retry_after(5);
                err.source = Some(cause);
                err
            }
            StoreError::Invalid(detail) => ApiError::bad_request("INVALID_REQUEST", detail),
            StoreError::Other(cause) => ApiError::internal(cause),
        }
    }
}

/// JSON body extractor whose rejections use the project's problem format instead of axum's
/// plain-text answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "Send the body as JSON with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "MALFORMED_JSON",
            format!("The body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request("INVALID_BODY", e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "The request body is larger than this endpoint accepts.",
            )
        }
        other => ApiError::new(other.status(), "INVALID_BODY", other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_problem_json_with_retry_after() {
        let response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "slow down")
            .with_retry_after(7)
            .into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "RATE_LIMITED");
        assert_eq!(v["status"], 429);
        assert_eq!(v["title"], "Too Many Requests");
    }

    #[tokio::test]
    async fn internal_errors_hide_their_cause() {
        let response = ApiError::internal(anyhow::anyhow!("password=hunter2")).into_response();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    }
}
