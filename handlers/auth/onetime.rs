//! Purpose-bound one-time tokens (email verification, password reset, magic link): 256 random
//! bits handed out once, stored only as a SHA-256 hash in `tokens` with their purpose, user and
//! expiry. Using one deletes it, and the delete is the claim: of two concurrent uses exactly
//! one succeeds. A token of one purpose is refused for every other purpose, and none of them
//! is a JWT, so none passes as an access token.

use std::time::Duration;

use serde_json::json;

use super::sessions::{hash, random_secret};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    MagicLink,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify-email",
            Purpose::ResetPassword => "reset-password",
            Purpose::MagicLink => "magic-link",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::from_secs(24 * 3600),
            Purpose::ResetPassword | Purpose::MagicLink => Duration::from_secs(15 * 60),
        }
    }
}

/// Makes a token for `user_id` and returns it (the only time it exists in clear).
pub async fn issue(state: &AppState, purpose: Purpose, user_id: &str) -> ApiResult<String> {
    let secret = random_secret();
    let id = hash(&secret);
    let doc = json!({
        "id": id,
        "purpose": purpose.as_str(),
        "userId": user_id,
        "createdAt": chrono::Utc::now(),
        "ttl": purpose.lifetime().as_secs(),
    });
    state.stores.documents.create("tokens", &id, doc).await?;
    Ok(secret)
}

/// Spends a token of `purpose`; returns its user, or `None` when it is unknown, expired, used,
/// or of another purpose.
pub async fn consume(state: &AppState, purpose: Purpose, token: &str) -> ApiResult<Option<String>> {
    let token = token.trim();
    if token.len() < 40 || token.len() > 64 {
        return Ok(None);
    }
    let id = hash(token);
    let docs = &state.stores.documents;
    let Some(doc) = docs.get("tokens", &id, &id).await? else {
        return Ok(None);
    };
    if doc.value["purpose"] != purpose.as_str() {
        return Ok(None);
    }
    match docs.delete("tokens", &id, &id).await {
        Ok(()) => Ok(doc.value["userId"].as_str().map(str::to_owned)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
