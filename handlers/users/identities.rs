//! The OpenID Connect providers an account signs in with: `GET users/me/identities`, and
//! `DELETE users/me/identities/{name}` to unlink one, unless it is the last way left to sign in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::store as users;
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityView {
    /// The provider's name (`auth/providers`).
    pub provider: String,
    pub label: String,
    /// The address the provider gave when the link was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityList {
    pub items: Vec<IdentityView>,
}

#[utoipa::path(get, operation_id = "listMyIdentities", path = "/api/v1/users/me/identities", tag = "users", security(("bearer" = [])),
    responses((status = 200, description = "The linked providers", body = IdentityList), (status = 401, description = "Not signed in", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<IdentityList>> {
    let stored = users::get(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such user."))?;
    let label = |name: &str| {
        state
            .auth
            .oidc
            .all()
            .find(|p| p.name == name)
            .map_or_else(|| name.to_owned(), |p| p.label.clone())
    };
    Ok(AppJson(IdentityList {
        items: stored
            .identities
            .iter()
            .map(|i| IdentityView {
                label: label(&i.provider),
                provider: i.provider.clone(),
                email: i.email.clone(),
                linked_at: i.linked_at,
            })
            .collect(),
    }))
}

#[utoipa::path(delete, operation_id = "unlinkMyIdentity", path = "/api/v1/users/me/identities/{name}", tag = "users", security(("bearer" = [])),
    params(("name" = String, Path, description = "The provider's name")),
    responses(
        (status = 204, description = "Unlinked: that provider no longer signs in to this account"),
        (status = 404, description = "No link to that provider", body = Problem),
        (status = 409, description = "`LAST_SIGN_IN_METHOD`: the account has no password and no other provider (set a password first, through `auth/forgot-password`)", body = Problem),
    ))]
pub async fn unlink(
    State(state): State<AppState>,
    user: AuthUser,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let mut refusal = None;
    // Decided on the stored account inside the conditional update: a password removed or
    // another link dropped meanwhile is seen.
    users::update(&state, &user.user_id, |u| {
        refusal = None;
        if !u.identities.iter().any(|i| i.provider == name) {
            refusal = Some(ApiError::not_found("No link to that provider."));
        } else if u.password_hash.is_none() && u.identities.len() == 1 {
            refusal = Some(ApiError::new(
                Code::LastSignInMethod,
                "This is the only way left to sign in: set a password first.",
            ));
        } else {
            u.identities.retain(|i| i.provider != name);
            u.refresh_identity_keys();
        }
    })
    .await?;
    match refusal {
        Some(e) => Err(e),
        None => Ok(StatusCode::NO_CONTENT),
    }
}
