//! GDPR export and erase through one registry: each feature that stores something about a user
//! adds one `Section` that can export it and erase it. `data-export` runs every exporter;
//! erasure (a queued job) runs every eraser, the user's own documents last.

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::UserDoc;
use super::store;
use crate::auth::store as auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub struct Section {
    pub name: &'static str,
    pub export: for<'a> fn(&'a AppState, &'a UserDoc) -> BoxFuture<'a, ApiResult<Value>>,
    /// Returns how many items it removed.
    pub erase: for<'a> fn(&'a AppState, &'a UserDoc) -> BoxFuture<'a, ApiResult<u64>>,
}

/// The registry; later features append their sections here.
pub fn sections() -> &'static [Section] {
    &[
        Section {
            name: "sessions",
            export: |state, user| {
                Box::pin(async move {
                    let sessions = auth::all_sessions(state, &user.id).await?;
                    exported(&sessions, &["currentHash", "previousHash", "spent"])
                })
            },
            erase: |state, user| Box::pin(auth::erase_sessions(state, &user.id)),
        },
        Section {
            name: "activity",
            export: |state, user| {
                Box::pin(async move { exported(&store::all_activity(state, &user.id).await?, &[]) })
            },
            erase: |state, user| Box::pin(store::erase_activity(state, &user.id)),
        },
        Section {
            name: "progress",
            export: |state, user| {
                Box::pin(async move { exported(&store::all_progress(state, &user.id).await?, &[]) })
            },
            erase: |state, user| Box::pin(store::erase_progress(state, &user.id)),
        },
        Section {
            name: "forms",
            export: |state, user| {
                Box::pin(async move { exported(&store::forms_of(state, user).await?, &[]) })
            },
            erase: |state, user| Box::pin(store::erase_forms(state, user)),
        },
        Section {
            name: "tokens",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| Box::pin(auth::erase_tokens(state, &user.id)),
        },
        Section {
            name: "invites",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| Box::pin(auth::erase_invites(state, &user.email)),
        },
        Section {
            name: "files",
            export: |state, user| Box::pin(crate::files::gdpr::export(state, &user.id)),
            erase: |state, user| Box::pin(crate::files::gdpr::erase(state, &user.id)),
        },
        Section {
            name: "chat",
            export: |state, user| Box::pin(crate::chat::gdpr::export(state, &user.id)),
            erase: |state, user| Box::pin(crate::chat::gdpr::erase(state, &user.id)),
        },
        Section {
            name: "notifications",
            export: |state, user| {
                Box::pin(async move {
                    let all = crate::notifications::store::all_of(state, &user.id).await?;
                    let shown: Vec<_> = all
                        .iter()
                        .map(crate::notifications::model::Notification::from)
                        .collect();
                    exported(&shown, &[])
                })
            },
            erase: |state, user| Box::pin(crate::notifications::store::erase(state, &user.id)),
        },
        Section {
            name: "cache",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| {
                Box::pin(async move {
                    for key in crate::auth::limits::user_keys(&user.email) {
                        state.stores.cache.del(&key).await?;
                    }
                    Ok(0)
                })
            },
        },
    ]
}

/// Documents as the export shows them: without the store's own fields (`_etag`...), the
/// expiry, and the named internal fields.
fn exported<T: Serialize>(docs: &[T], hide: &[&str]) -> ApiResult<Value> {
    let mut items = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut value = serde_json::to_value(doc).map_err(ApiError::internal)?;
        if let Some(obj) = value.as_object_mut() {
            obj.retain(|k, _| !k.starts_with('_') && !hide.contains(&k.as_str()) && k != "ttl");
        }
        items.push(value);
    }
    Ok(Value::Array(items))
}

/// The user's whole export: the profile and every section.
pub async fn export(state: &AppState, user: &UserDoc) -> ApiResult<Value> {
    let mut out = serde_json::Map::new();
    out.insert("exportedAt".into(), json!(chrono::Utc::now()));
    out.insert(
        "profile".into(),
        serde_json::to_value(super::model::User::of(user, state.api_base()))
            .map_err(ApiError::internal)?,
    );
    // The providers the account signs in with (provider, issuer, subject, email, when linked).
    out.insert("identities".into(), json!(user.identities));
    for section in sections() {
        out.insert(section.name.into(), (section.export)(state, user).await?);
    }
    Ok(Value::Object(out))
}

/// Erases everything about the user; the account itself goes last, so a crash part-way leaves
/// an account whose erase can simply run again.
pub async fn erase(state: &AppState, user: &UserDoc) -> ApiResult<Vec<(&'static str, u64)>> {
    let mut report = Vec::new();
    for section in sections() {
        report.push((section.name, (section.erase)(state, user).await?));
    }
    store::remove(state, user).await?;
    report.push(("account", 1));
    Ok(report)
}
