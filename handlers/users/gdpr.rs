//! GDPR export and erase through one registry: each feature that stores something about a user
//! adds one `Section` that can export it and erase it. `data-export` runs every exporter;
//! erasure (a queued job) runs every eraser, the user's own documents last.

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::model::UserDoc;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Filter, Query};

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
                Box::pin(export_partition(
                    state,
                    "sessions",
                    &user.id,
                    &["currentHash", "previousHash", "spent"],
                ))
            },
            erase: |state, user| Box::pin(erase_partition(state, "sessions", &user.id)),
        },
        Section {
            name: "activity",
            export: |state, user| Box::pin(export_partition(state, "activity", &user.id, &[])),
            erase: |state, user| Box::pin(erase_partition(state, "activity", &user.id)),
        },
        Section {
            name: "progress",
            export: |state, user| Box::pin(export_partition(state, "progress", &user.id, &[])),
            erase: |state, user| Box::pin(erase_partition(state, "progress", &user.id)),
        },
        Section {
            name: "forms",
            export: |state, user| {
                Box::pin(export_where(
                    state,
                    "forms",
                    Filter::eq("email", user.email.as_str()),
                ))
            },
            erase: |state, user| {
                Box::pin(erase_where(
                    state,
                    "forms",
                    Filter::eq("email", user.email.as_str()),
                ))
            },
        },
        Section {
            name: "tokens",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| {
                Box::pin(erase_where(
                    state,
                    "tokens",
                    Filter::eq("userId", user.id.as_str()),
                ))
            },
        },
        Section {
            name: "invites",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| {
                Box::pin(erase_where(
                    state,
                    "invites",
                    Filter::eq("email", user.email.as_str()),
                ))
            },
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
            name: "cache",
            export: |_, _| Box::pin(async { Ok(json!([])) }),
            erase: |state, user| {
                Box::pin(async move {
                    for key in crate::auth::limits::user_keys(&user.id) {
                        state.stores.cache.del(&key).await?;
                    }
                    Ok(0)
                })
            },
        },
    ]
}

/// Every document of a user's partition, without the named internal fields.
async fn export_partition(
    state: &AppState,
    container: &str,
    user_id: &str,
    hide: &[&str],
) -> ApiResult<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = state
            .stores
            .documents
            .query(
                container,
                Some(user_id),
                &Query::default().limit(500),
                token.as_deref(),
            )
            .await?;
        for doc in page.items {
            let mut value = doc.value;
            if let Some(obj) = value.as_object_mut() {
                obj.retain(|k, _| !k.starts_with('_') && !hide.contains(&k.as_str()) && k != "ttl");
            }
            items.push(value);
        }
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(Value::Array(items))
}

/// Every document matching `filter` across partitions (the user's own form submissions).
async fn export_where(state: &AppState, container: &str, filter: Filter) -> ApiResult<Value> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let query = Query::default().filter(filter).limit(500);
    loop {
        let page = state
            .stores
            .documents
            .query(container, None, &query, token.as_deref())
            .await?;
        for doc in page.items {
            let mut value = doc.value;
            if let Some(obj) = value.as_object_mut() {
                obj.retain(|k, _| !k.starts_with('_') && k != "ttl");
            }
            items.push(value);
        }
        match page.continuation {
            Some(t) => token = Some(t),
            None => return Ok(Value::Array(items)),
        }
    }
}

async fn erase_partition(state: &AppState, container: &str, user_id: &str) -> ApiResult<u64> {
    erase_matching(state, container, Some(user_id), Query::default().limit(500)).await
}

/// Deletes across partitions (the few containers not partitioned by user).
async fn erase_where(state: &AppState, container: &str, filter: Filter) -> ApiResult<u64> {
    erase_matching(
        state,
        container,
        None,
        Query::default().filter(filter).limit(500),
    )
    .await
}

async fn erase_matching(
    state: &AppState,
    container: &str,
    pk: Option<&str>,
    query: Query,
) -> ApiResult<u64> {
    let docs = &state.stores.documents;
    let spec = crate::store::schema::container(container)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown container {container}")))?;
    let pk_field = spec.partition_key.trim_start_matches('/');
    let mut removed = 0;
    // Deleting while paging would shift the pages: read a page, delete it, read again.
    loop {
        let page = docs.query(container, pk, &query, None).await?;
        if page.items.is_empty() {
            return Ok(removed);
        }
        for doc in page.items {
            let partition = doc.value[pk_field].as_str().unwrap_or_default().to_owned();
            match docs.delete(container, &partition, doc.id()).await {
                Ok(()) | Err(crate::store::StoreError::NotFound) => removed += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The user's whole export: the profile and every section.
pub async fn export(state: &AppState, user: &UserDoc) -> ApiResult<Value> {
    let mut out = serde_json::Map::new();
    out.insert("exportedAt".into(), json!(chrono::Utc::now()));
    out.insert(
        "profile".into(),
        serde_json::to_value(super::model::User::from(user)).map_err(ApiError::internal)?,
    );
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
    let docs = &state.stores.documents;
    for (container, pk, id) in [
        ("emails", &user.email, &user.email),
        ("users", &user.id, &user.id),
    ] {
        match docs.delete(container, pk, id).await {
            Ok(()) | Err(crate::store::StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    report.push(("account", 1));
    Ok(report)
}
