//! Accounts and sessions: passwords, signing keys and tokens, sessions with rotating refresh
//! tokens, one-time tokens, rate limits and lockout, and the `/api/v1/auth` routes.

pub mod extract;
pub mod keys;
pub mod limits;
pub mod mfa;
pub mod oidc;
pub mod onetime;
pub mod password;
pub mod revocations;
pub mod routes;
pub mod sessions;
pub mod store;
pub mod tokens;

use std::sync::Arc;

use crate::settings::Settings;
use crate::store::Stores;

/// What authentication needs at hand, built once.
pub struct Auth {
    pub keys: keys::KeyRing,
    pub passwords: password::Passwords,
    /// The configured OpenID Connect providers (nothing fetched until a sign-in uses one).
    pub oidc: oidc::Providers,
}

impl Auth {
    /// Touches no store: the key ring loads (or makes) its keys on first use.
    pub fn new(settings: &Settings, stores: &Stores) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            keys: keys::KeyRing::new(
                stores.secrets.clone(),
                // A minute of slack past the token lifetime, for clock skew.
                settings.auth.access_token_ttl + std::time::Duration::from_secs(60),
                settings.auth.key_refresh,
            ),
            passwords: password::Passwords::new(&settings.auth)?,
            oidc: oidc::Providers::new(&settings.oidc_providers),
        }))
    }
}

crate::api_routes!(
    routes::signup::signup,
    routes::login::login,
    routes::sessions::refresh,
    routes::sessions::logout,
    routes::sessions::logout_all,
    routes::sessions::list_sessions,
    routes::sessions::delete_session,
    routes::links::forgot_password,
    routes::links::reset_password,
    routes::links::verify_email,
    routes::links::resend_verification,
    routes::links::magic_link,
    routes::links::magic_link_verify,
    routes::mfa::verify,
    crate::users::email_change::confirm,
    routes::mfa::set_up,
    routes::mfa::confirm,
    routes::mfa::disable,
    routes::invites::create_invite,
    routes::invites::check_invite,
    routes::invite_list::list,
    routes::invite_list::revoke,
    routes::invite_list::resend,
    routes::oidc::providers,
    routes::oidc::start,
    routes::oidc::callback,
    routes::oidc::exchange,
    routes::jwks,
    routes::me,
);
