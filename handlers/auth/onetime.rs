//! Purpose-bound one-time tokens (email verification, password reset, magic link): 256 random
//! bits handed out once, stored only as a SHA-256 hash in `tokens` with their purpose, user and
//! expiry. Using one deletes it, and the delete is the claim: of two concurrent uses exactly
//! one succeeds. A token of one purpose is refused for every other purpose, and none of them
//! is a JWT, so none passes as an access token.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::sessions::{hash, random_secret};
use super::store::{self, TokenDoc};
use crate::error::ApiResult;
use crate::state::AppState;

/// Stored by its kebab-case name (`verify-email`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    MagicLink,
    /// The second step of a sign-in with two-factor on: a correct password (or link) got this
    /// far, a code must follow.
    Mfa,
    /// Confirms the address in the user's `pendingEmail`.
    ChangeEmail,
    /// Creates the account of a passwordless sign-up (the token carries email and name).
    MagicSignup,
    /// The first password of an account an admin made: a reset that also activates it.
    SetPassword,
    /// An OpenID Connect sign-in waiting for the provider's callback; the token is the `state`.
    OidcState,
    /// The one-time code the callback hands the app (`?signin=`), for `auth/oidc/exchange`.
    OidcSignIn,
}

impl Purpose {
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::from_secs(24 * 3600),
            Purpose::ResetPassword | Purpose::MagicLink | Purpose::MagicSignup => {
                Duration::from_secs(15 * 60)
            }
            Purpose::Mfa => Duration::from_secs(5 * 60),
            Purpose::ChangeEmail => Duration::from_secs(24 * 3600),
            Purpose::SetPassword => Duration::from_secs(7 * 24 * 3600),
            Purpose::OidcState => Duration::from_secs(10 * 60),
            Purpose::OidcSignIn => Duration::from_secs(60),
        }
    }
}

/// Makes a token for `user_id` and returns it (the only time it exists in clear).
pub async fn issue(state: &AppState, purpose: Purpose, user_id: &str) -> ApiResult<String> {
    let secret = random_secret();
    let token = TokenDoc {
        id: hash(&secret),
        purpose,
        user_id: user_id.to_owned(),
        created_at: chrono::Utc::now(),
        ttl: purpose.lifetime().as_secs(),
        email: None,
        name: None,
        oidc: None,
    };
    store::create_token(state, &token).await?;
    Ok(secret)
}

/// Keeps an OpenID Connect sign-in under `state` (the provider's random state value) until
/// its callback spends it.
pub async fn keep_oidc_state(
    state: &AppState,
    secret: &str,
    pending: store::OidcPending,
) -> ApiResult<()> {
    let purpose = Purpose::OidcState;
    let token = TokenDoc {
        id: hash(secret),
        purpose,
        user_id: String::new(),
        created_at: chrono::Utc::now(),
        ttl: purpose.lifetime().as_secs(),
        email: None,
        name: None,
        oidc: Some(pending),
    };
    store::create_token(state, &token).await
}

/// A passwordless sign-up's link: the account is made when it is followed.
pub async fn issue_signup(state: &AppState, email: &str, name: &str) -> ApiResult<String> {
    let secret = random_secret();
    let purpose = Purpose::MagicSignup;
    let token = TokenDoc {
        id: hash(&secret),
        purpose,
        user_id: String::new(),
        created_at: chrono::Utc::now(),
        ttl: purpose.lifetime().as_secs(),
        email: Some(email.to_owned()),
        name: Some(name.to_owned()),
        oidc: None,
    };
    store::create_token(state, &token).await?;
    Ok(secret)
}

/// The user of a live token of `purpose`, without spending it (a second factor may be typed
/// wrong and retried; the lockout bounds the tries).
pub async fn peek(state: &AppState, purpose: Purpose, token: &str) -> ApiResult<Option<String>> {
    let token = token.trim();
    if token.len() < 40 || token.len() > 64 {
        return Ok(None);
    }
    Ok(store::get_token(state, &hash(token))
        .await?
        .filter(|t| t.purpose == purpose)
        .map(|t| t.user_id))
}

/// Spends a token of `purpose`; returns its user, or `None` when it is unknown, expired, used,
/// or of another purpose.
pub async fn consume(state: &AppState, purpose: Purpose, token: &str) -> ApiResult<Option<String>> {
    Ok(consume_doc(state, purpose, token).await?.map(|t| t.user_id))
}

/// [`consume`], answering the whole token.
pub async fn consume_doc(
    state: &AppState,
    purpose: Purpose,
    token: &str,
) -> ApiResult<Option<TokenDoc>> {
    let token = token.trim();
    if token.len() < 40 || token.len() > 64 {
        return Ok(None);
    }
    let id = hash(token);
    let Some(stored) = store::get_token(state, &id).await? else {
        return Ok(None);
    };
    if stored.purpose != purpose {
        return Ok(None);
    }
    Ok(store::remove_token(state, &id).await?.then_some(stored))
}

/// Spends every outstanding password-reset and magic-link token of the user: after a password
/// reset or change, a link mailed before must not sign in or set the password again.
/// Verification links stay: they prove the address, not the password.
pub async fn spend_sign_in_links(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let mut spent = 0;
    for purpose in [Purpose::ResetPassword, Purpose::MagicLink] {
        spent += store::erase_tokens_of(state, user_id, purpose).await?;
    }
    Ok(spent)
}
