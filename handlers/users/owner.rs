//! The proof asked before a change that a stolen access token must not make (erasing the
//! account, moving it to another address): the password, or, for an account without one (made
//! through a sign-in link or a provider), a sign-in of the last 10 minutes, as there is no
//! password to ask for.

use super::model::UserDoc;
use crate::auth::extract::AuthUser;
use crate::auth::limits;
use crate::error::{ApiError, ApiResult, Code, FieldErrors};
use crate::state::AppState;

/// How recent a sign-in stands in for the password of an account that has none.
pub const RECENT_SIGN_IN: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

fn password_error(message: &str) -> ApiError {
    ApiError::validation(FieldErrors::from([(
        "password".to_owned(),
        vec![message.to_owned()],
    )]))
}

/// Passes when `password` is the account's (wrong ones count towards the lockout), or the
/// account has no password and this session signed in within [`RECENT_SIGN_IN`].
pub async fn confirm(
    state: &AppState,
    user: &AuthUser,
    stored: &UserDoc,
    password: Option<&str>,
) -> ApiResult<()> {
    match (&stored.password_hash, password) {
        (Some(_), None) => Err(password_error("Enter your password.")),
        (Some(_), Some(password)) => {
            let ok =
                limits::verify_password(state, Some(&stored.email), password, Some(stored)).await?;
            if ok {
                Ok(())
            } else {
                Err(password_error("The password is wrong."))
            }
        }
        (None, _) => {
            let session = crate::auth::store::get_session(state, &user.user_id, &user.session_id)
                .await?
                .ok_or_else(|| ApiError::new(Code::TokenRevoked, "This session has ended."))?;
            if session.created_at < chrono::Utc::now() - RECENT_SIGN_IN {
                return Err(ApiError::new(
                    Code::RecentSignInRequired,
                    "Sign in again, then make this change within 10 minutes.",
                ));
            }
            Ok(())
        }
    }
}
