//! Which account an OpenID Connect sign-in is, decided from the verified ID token and the
//! stored accounts at the moment of the callback:
//! 1. the account linked to (issuer, `sub`);
//! 2. else the account with the token's `email`, linked now, when the provider asserts
//!    `email_verified` and the account's address is verified too (or the account is one an
//!    admin made and nobody has set a password for yet): an unverified account with a password
//!    may have been registered by someone else in the owner's name, and must not be handed to
//!    the provider's user nor keep its password-holder in;
//! 3. else a new account with that verified email, as sign-up admits it (`REGISTRATION_MODE`;
//!    in invite mode a live invite for the email).
//!
//! Nothing is granted on an email the provider does not assert as verified.

use chrono::{DateTime, Utc};

use super::signup::{admit, new_account, promote_if_bootstrap, spend_admission};
use crate::auth::oidc::Identity;
use crate::auth::store;
use crate::error::{ApiError, Code};
use crate::settings::oidc::OidcProvider;
use crate::state::AppState;
use crate::users::model::{Email, LinkedIdentity, UserDoc, UserStatus};
use crate::users::store as users;

/// Why the callback sends the browser back to the sign-in page; the `error` it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    UnknownProvider,
    /// Unknown, expired, replayed or cross-browser `state`, or an `iss` of another provider.
    InvalidState,
    /// The provider answered `error` (the user cancelled, or it refused).
    ProviderDenied,
    ProviderUnavailable,
    ExchangeFailed,
    InvalidIdToken,
    InvalidNonce,
    EmailNotVerified,
    InviteRequired,
    AccountSuspended,
    EmailTaken,
    Unavailable,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::UnknownProvider => "UNKNOWN_PROVIDER",
            Failure::InvalidState => "INVALID_STATE",
            Failure::ProviderDenied => "PROVIDER_DENIED",
            Failure::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Failure::ExchangeFailed => "EXCHANGE_FAILED",
            Failure::InvalidIdToken => "INVALID_ID_TOKEN",
            Failure::InvalidNonce => "INVALID_NONCE",
            Failure::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Failure::InviteRequired => "INVITE_REQUIRED",
            Failure::AccountSuspended => "ACCOUNT_SUSPENDED",
            Failure::EmailTaken => "EMAIL_TAKEN",
            Failure::Unavailable => "UNAVAILABLE",
        }
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        match e.code {
            Code::InviteRequired => Failure::InviteRequired,
            Code::EmailTaken => Failure::EmailTaken,
            _ => {
                tracing::warn!("OpenID Connect sign-in: {e}");
                Failure::Unavailable
            }
        }
    }
}

fn linked(provider: &OidcProvider, identity: &Identity, now: DateTime<Utc>) -> LinkedIdentity {
    LinkedIdentity {
        provider: provider.name.clone(),
        issuer: provider.issuer.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        linked_at: now,
    }
}

/// The account this sign-in is (linked, or made, as the module says), active.
pub async fn account_for(
    state: &AppState,
    provider: &OidcProvider,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<UserDoc, Failure> {
    let key = LinkedIdentity::key(&provider.issuer, &identity.subject);
    let user = match users::find_by_identity(state, &key).await? {
        Some(user) => user,
        None => by_verified_email(state, provider, identity, now).await?,
    };
    match user.status {
        UserStatus::Active => Ok(user),
        UserStatus::Suspended => Err(Failure::AccountSuspended),
        _ => Err(Failure::InvalidState),
    }
}

async fn by_verified_email(
    state: &AppState,
    provider: &OidcProvider,
    identity: &Identity,
    now: DateTime<Utc>,
) -> Result<UserDoc, Failure> {
    let email = match (&identity.email, identity.email_verified) {
        (Some(email), true) => Email::parse(email).map_err(|_| Failure::EmailNotVerified)?,
        _ => return Err(Failure::EmailNotVerified),
    };
    let settings = &state.settings.auth;
    if let Some(existing) = users::find_by_email(state, &email).await? {
        let unclaimed = existing.status == UserStatus::Invited && existing.password_hash.is_none();
        if !existing.email_verified && !unclaimed {
            return Err(Failure::EmailNotVerified);
        }
        let link = linked(provider, identity, now);
        let user = users::update(state, &existing.id, |u| {
            u.link_identity(link.clone());
            if u.status == UserStatus::Invited {
                // The provider proved the address, as the set-password link would have.
                u.status = UserStatus::Active;
            }
            u.email_verified = true;
            promote_if_bootstrap(settings, u);
        })
        .await?;
        return Ok(user);
    }
    let invite = store::live_invite_for(state, email.as_str(), now).await?;
    let admission = admit(settings, &email, invite, now)?;
    let name = identity
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(100).collect::<String>())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
    let mut user = new_account(&email, &name, None, admission.role(), true, now);
    user.link_identity(linked(provider, identity, now));
    promote_if_bootstrap(settings, &mut user);
    users::create(state, &user).await?;
    spend_admission(state, &admission, &user, now).await;
    crate::dashboard::metrics::record(state, "signups").await;
    Ok(user)
}
