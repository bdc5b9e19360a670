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

/// Declares every error code the API answers with: its variant, the string clients match on,
/// and the status it is always answered with. A code is named once, here, so it cannot be
/// spelled two ways or answered with two statuses.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal, $status:ident;)*) => {
        /// The stable machine codes of error answers (`code` in the problem body).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }

            pub const fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

codes! {
    // Bad input.
    ValidationFailed = "VALIDATION_FAILED", BAD_REQUEST;
    InvalidRequest = "INVALID_REQUEST", BAD_REQUEST;
    InvalidBody = "INVALID_BODY", BAD_REQUEST;
    MalformedJson = "MALFORMED_JSON", BAD_REQUEST;
    MalformedInvocation = "MALFORMED_INVOCATION", BAD_REQUEST;
    UnknownFrame = "UNKNOWN_FRAME", BAD_REQUEST;
    /// A one-time link (verification, reset, magic link) that is invalid, expired or used.
    InvalidLink = "INVALID_TOKEN", BAD_REQUEST;
    ExportTooLarge = "EXPORT_TOO_LARGE", BAD_REQUEST;
    FileTooLarge = "FILE_TOO_LARGE", BAD_REQUEST;
    FileTypeNotAllowed = "FILE_TYPE_NOT_ALLOWED", BAD_REQUEST;
    /// A request names a file (an attachment) that is not a ready file of the caller's.
    AttachmentNotReady = "FILE_NOT_READY", BAD_REQUEST;
    InvalidBlobName = "INVALID_BLOB_NAME", BAD_REQUEST;
    MissingBlobType = "MISSING_BLOB_TYPE", BAD_REQUEST;
    UploadInterrupted = "UPLOAD_INTERRUPTED", BAD_REQUEST;
    /// Put Block with an id that is not base64 of 1 to 64 bytes.
    InvalidBlockId = "INVALID_BLOCK_ID", BAD_REQUEST;
    /// Put Block List naming a block that is not staged (or too many).
    InvalidBlockList = "INVALID_BLOCK_LIST", BAD_REQUEST;
    NotAGroup = "NOT_A_GROUP", BAD_REQUEST;
    TooManyParticipants = "TOO_MANY_PARTICIPANTS", BAD_REQUEST;
    UnknownParticipants = "UNKNOWN_PARTICIPANTS", BAD_REQUEST;
    // Who is asking.
    Unauthorized = "UNAUTHORIZED", UNAUTHORIZED;
    /// An access token that is malformed, expired or signed by an unknown key.
    InvalidToken = "INVALID_TOKEN", UNAUTHORIZED;
    TokenRevoked = "TOKEN_REVOKED", UNAUTHORIZED;
    TokenReused = "TOKEN_REUSED", UNAUTHORIZED;
    InvalidCredentials = "INVALID_CREDENTIALS", UNAUTHORIZED;
    /// A second-factor code or recovery code that is wrong, expired or already used.
    MfaInvalid = "MFA_INVALID", UNAUTHORIZED;
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN", UNAUTHORIZED;
    Forbidden = "FORBIDDEN", FORBIDDEN;
    AccountSuspended = "ACCOUNT_SUSPENDED", FORBIDDEN;
    InviteRequired = "INVITE_REQUIRED", FORBIDDEN;
    NotEnrolled = "NOT_ENROLLED", FORBIDDEN;
    /// `REQUIRE_VERIFIED_EMAIL=true` and the account's address is not verified yet.
    EmailNotVerified = "EMAIL_NOT_VERIFIED", FORBIDDEN;
    /// An account without a password erasing itself more than 10 minutes after signing in.
    RecentSignInRequired = "RECENT_SIGN_IN_REQUIRED", FORBIDDEN;
    /// A direct conversation with, or a post to, someone who blocked the caller.
    Blocked = "BLOCKED", FORBIDDEN;
    SignatureInvalid = "SIGNATURE_INVALID", FORBIDDEN;
    /// A function door called from a web page of another origin.
    CrossOrigin = "CROSS_ORIGIN", FORBIDDEN;
    /// A cookie-authenticated call (`AUTH_REFRESH_TRANSPORT=cookie`) without `X-Requested-With`,
    /// which a cross-site form cannot send.
    CsrfHeaderRequired = "CSRF_HEADER_REQUIRED", FORBIDDEN;
    // What exists.
    NotFound = "NOT_FOUND", NOT_FOUND;
    BlobNotFound = "BLOB_NOT_FOUND", NOT_FOUND;
    FunctionNotFound = "FUNCTION_NOT_FOUND", NOT_FOUND;
    NoBackup = "NO_BACKUP", NOT_FOUND;
    NoKey = "NO_KEY", NOT_FOUND;
    MethodNotAllowed = "METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED;
    Conflict = "CONFLICT", CONFLICT;
    /// A PUT to an upload URL whose blob exists: upload URLs create, never overwrite (the
    /// code Blob Storage answers an `If-None-Match: *` conflict with).
    BlobAlreadyExists = "BLOB_ALREADY_EXISTS", CONFLICT;
    ConcurrentUpdate = "CONCURRENT_UPDATE", CONFLICT;
    EmailTaken = "EMAIL_TAKEN", CONFLICT;
    /// Removing or demoting the last active admin.
    LastAdmin = "LAST_ADMIN", CONFLICT;
    /// An admin deleting, suspending or demoting themselves through the admin routes.
    SelfChange = "SELF_CHANGE", CONFLICT;
    /// Unlinking the only way left to sign in (no password, no other provider).
    LastSignInMethod = "LAST_SIGN_IN_METHOD", CONFLICT;
    /// Two-factor is already on (turn it off first to set up another device).
    MfaEnabled = "MFA_ENABLED", CONFLICT;
    /// Sharing a file whose upload is not complete.
    FileNotReady = "FILE_NOT_READY", CONFLICT;
    MessageDeleted = "MESSAGE_DELETED", CONFLICT;
    UploadMissing = "UPLOAD_MISSING", CONFLICT;
    InviteUsed = "INVITE_USED", GONE;
    InviteExpired = "INVITE_EXPIRED", GONE;
    InviteRevoked = "INVITE_REVOKED", GONE;
    ShareExpired = "SHARE_EXPIRED", GONE;
    ShareExhausted = "SHARE_EXHAUSTED", GONE;
    PreconditionFailed = "PRECONDITION_FAILED", PRECONDITION_FAILED;
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE;
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED_MEDIA_TYPE;
    UploadRejected = "UPLOAD_REJECTED", UNPROCESSABLE_ENTITY;
    // Limits.
    RateLimited = "RATE_LIMITED", TOO_MANY_REQUESTS;
    AccountLocked = "ACCOUNT_LOCKED", TOO_MANY_REQUESTS;
    // Our side.
    Internal = "INTERNAL", INTERNAL_SERVER_ERROR;
    InvocationFailed = "INVOCATION_FAILED", INTERNAL_SERVER_ERROR;
    Unavailable = "UNAVAILABLE", SERVICE_UNAVAILABLE;
    Timeout = "TIMEOUT", SERVICE_UNAVAILABLE;
    /// Web PubSub refused or did not answer a membership change, which therefore was not made.
    RealtimeUnavailable = "REALTIME_UNAVAILABLE", SERVICE_UNAVAILABLE;
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Field name -> messages, for `VALIDATION_FAILED`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
pub struct ApiError {
    /// Always `code.status()`.
    pub status: StatusCode,
    /// Stable machine code, e.g. `VALIDATION_FAILED`.
    pub code: Code,
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
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            detail: detail.into(),
            errors: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn validation(errors: FieldErrors) -> Self {
        let mut e = Self::new(Code::ValidationFailed, "One or more fields are invalid.");
        e.errors = Some(errors);
        e
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Code::NotFound, detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(Code::Unavailable, detail)
    }

    /// A failure the client cannot fix; the cause is logged, the answer says only 500.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(Code::Internal, "An unexpected error occurred.");
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
            code: self.code.as_str().to_owned(),
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
                Some(cause) => {
                    tracing::error!(code = self.code.as_str(), error = ?cause, "request failed")
                }
                None => {
                    tracing::error!(code = self.code.as_str(), detail = %self.detail, "request failed")
                }
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
            StoreError::Conflict => ApiError::new(Code::Conflict, "The resource already exists."),
            StoreError::PreconditionFailed => ApiError::new(
                Code::PreconditionFailed,
                "The resource was changed by another request; read it again and retry.",
            ),
            StoreError::Contended(container) => {
                let mut err = ApiError::unavailable(
                    "The resource is being changed by other requests; retry.",
                )
                .with_retry_after(1);
                err.source = Some(anyhow::anyhow!("{container}: too many concurrent changes"));
                err
            }
            StoreError::Unavailable(cause) => {
                let mut err =
                    ApiError::unavailable("A backing service is unavailable; retry shortly.")
                        .with_retry_after(5);
                err.source = Some(cause);
                err
            }
            StoreError::Missing(what) => {
                let mut err =
                    ApiError::unavailable("A backing service is unavailable; retry shortly.")
                        .with_retry_after(5);
                err.source = Some(anyhow::anyhow!("{what} does not exist"));
                err
            }
            StoreError::BadInput(bad) => ApiError::new(Code::InvalidRequest, bad.message()),
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
            Code::UnsupportedMediaType,
            "Send the body as JSON with Content-Type: application/json.",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            Code::MalformedJson,
            format!("The body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::new(Code::InvalidBody, e.body_text()),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                Code::PayloadTooLarge,
                "The request body is larger than this endpoint accepts.",
            )
        }
        // The body could not be read at all (a broken stream): still the client's request.
        other => ApiError::new(Code::InvalidBody, other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_problem_json_with_retry_after() {
        let response = ApiError::new(Code::RateLimited, "slow down")
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

    #[test]
    fn each_code_string_has_one_status() {
        let mut seen = std::collections::HashMap::new();
        for code in Code::ALL {
            let status = *seen.entry(code.as_str()).or_insert(code.status());
            // Two variants may share a string only where today's API answers it with two
            // statuses (a one-time link vs an access token): never with a third.
            let variants = Code::ALL
                .iter()
                .filter(|c| c.as_str() == code.as_str())
                .count();
            assert!(variants <= 2, "{code} is declared {variants} times");
            let _ = status;
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_')
            );
        }
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
