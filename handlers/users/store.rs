//! Reading and writing users. The `emails` container (id = normalised email) is written first,
//! so two sign-ups with one email race on a single id and exactly one wins, across partitions.

use serde::{Deserialize, Serialize};

use super::model::{Email, UserDoc};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{Change, Collection};

/// Claims an email for one user (`emails` container, id = the normalised email).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailLink {
    id: String,
    user_id: String,
}

crate::document!(EmailLink, EMAILS, id);

fn users(state: &AppState) -> Collection<UserDoc> {
    state.stores.collection()
}

fn emails(state: &AppState) -> Collection<EmailLink> {
    state.stores.collection()
}

pub async fn get(state: &AppState, id: &str) -> ApiResult<Option<UserDoc>> {
    Ok(users(state).get(id, id).await?)
}

pub async fn find_by_email(state: &AppState, email: &Email) -> ApiResult<Option<UserDoc>> {
    let Some(link) = emails(state).get(email.as_str(), email.as_str()).await? else {
        return Ok(None);
    };
    get(state, &link.user_id).await
}

/// Creates the user; `EMAIL_TAKEN` when the email is in use.
pub async fn create(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    let mut user = user.clone();
    user.refresh_search_text();
    let link = EmailLink {
        id: user.email.clone(),
        user_id: user.id.clone(),
    };
    if !emails(state).create_if_absent(&link).await? {
        return Err(ApiError::new(
            Code::EmailTaken,
            "An account with this email already exists.",
        ));
    }
    if let Err(e) = users(state).create(&user).await {
        // Free the email again rather than leave it claimed by nobody.
        let _ = emails(state).remove(&link.id, &link.id).await;
        return Err(e.into());
    }
    Ok(())
}

/// Applies `change` to the stored user with optimistic concurrency (re-read on conflict).
pub async fn update(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut UserDoc),
) -> ApiResult<UserDoc> {
    let updated = users(state)
        .update_with(id, id, |user| {
            change(user);
            user.updated_at = chrono::Utc::now();
            user.refresh_search_text();
            Ok::<_, ApiError>(Change::Write(()))
        })
        .await?;
    updated
        .map(|(user, ())| user)
        .ok_or_else(|| ApiError::not_found("No such user."))
}
