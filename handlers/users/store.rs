//! Reading and writing users. The `emails` container (id = normalised email) is written first,
//! so two sign-ups with one email race on a single id and exactly one wins, across partitions.

use serde_json::json;

use super::model::{Email, UserDoc};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::store::{StoreError, StoreResult};

pub async fn get(state: &AppState, id: &str) -> ApiResult<Option<UserDoc>> {
    Ok(get_with_etag(state, id).await?.map(|(u, _)| u))
}

pub async fn get_with_etag(state: &AppState, id: &str) -> StoreResult<Option<(UserDoc, String)>> {
    if crate::store::doc_id_ok(id).is_err() {
        return Ok(None);
    }
    match state.stores.documents.get("users", id, id).await? {
        Some(doc) => {
            let user: UserDoc =
                serde_json::from_value(doc.value).map_err(|e| StoreError::Other(e.into()))?;
            Ok(Some((user, doc.etag)))
        }
        None => Ok(None),
    }
}

pub async fn find_by_email(state: &AppState, email: &Email) -> ApiResult<Option<UserDoc>> {
    let Some(link) = state
        .stores
        .documents
        .get("emails", email.as_str(), email.as_str())
        .await?
    else {
        return Ok(None);
    };
    let user_id = link.value["userId"].as_str().unwrap_or_default().to_owned();
    get(state, &user_id).await
}

/// Creates the user; `EMAIL_TAKEN` when the email is in use.
pub async fn create(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    let docs = &state.stores.documents;
    let mut user = user.clone();
    user.refresh_search_text();
    let link = json!({"id": user.email, "userId": user.id});
    match docs.create("emails", &user.email, link).await {
        Ok(_) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "EMAIL_TAKEN",
                "An account with this email already exists.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let value = serde_json::to_value(&user).map_err(ApiError::internal)?;
    if let Err(e) = docs.create("users", &user.id, value).await {
        // Free the email again rather than leave it claimed by nobody.
        let _ = docs.delete("emails", &user.email, &user.email).await;
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
    for _ in 0..5 {
        let (mut user, etag) = get_with_etag(state, id)
            .await?
            .ok_or_else(|| ApiError::not_found("No such user."))?;
        change(&mut user);
        user.updated_at = chrono::Utc::now();
        user.refresh_search_text();
        let value = serde_json::to_value(&user).map_err(ApiError::internal)?;
        match state
            .stores
            .documents
            .replace("users", id, value, Some(&etag))
            .await
        {
            Ok(_) => return Ok(user),
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable(
        "The account is being changed by another request; retry.",
    ))
}
