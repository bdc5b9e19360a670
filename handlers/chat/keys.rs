//! End-to-end encryption support: per-member key envelopes of a conversation and a user's key
//! backup. Both are opaque to the server, which stores them for the clients that can read
//! them, size-limited (`store::keys` says where they are kept).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::store as chat;
use super::store::keys::{self as store, EnvelopeDoc};
use crate::auth::extract::AuthUser;
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;

const MAX_ENVELOPE_BYTES: usize = 16 * 1024;
const MAX_BACKUP_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelopes {
    /// Member id -> that member's encrypted conversation key (any JSON, at most 16 KiB each).
    #[schema(value_type = Object)]
    pub envelopes: Map<String, Value>,
}

/// One envelope addressed to the caller.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The member who stored it: a client trusts an envelope only from whom it expects one.
    pub sender_id: String,
    #[schema(value_type = Object)]
    pub envelope: Value,
    pub updated_at: DateTime<Utc>,
}

/// The envelopes addressed to the caller, one per sender (a member writes only their own).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyEnvelopes {
    pub envelopes: Vec<Envelope>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyBackup {
    /// The encrypted backup (any JSON but `null`, at most 64 KiB).
    #[schema(value_type = Value)]
    pub backup: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredBackup {
    #[schema(value_type = Value)]
    pub backup: Value,
    pub updated_at: DateTime<Utc>,
}

impl From<store::BackupDoc> for StoredBackup {
    fn from(doc: store::BackupDoc) -> Self {
        StoredBackup {
            backup: doc.backup,
            updated_at: doc.updated_at,
        }
    }
}

#[utoipa::path(put, operation_id = "putKeyEnvelopes", path = "/api/v1/conversations/{id}/keys", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")), request_body = Envelopes,
    responses(
        (status = 204, description = "Stored, one envelope per member named, as the caller's: it replaces only an envelope the caller stored before, never another member's"),
        (status = 400, description = "`VALIDATION_FAILED`: not a member, or too large", body = Problem),
        (status = 404, description = "No such conversation of yours", body = Problem),
    ))]
pub async fn put_envelopes(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    AppJson(request): AppJson<Envelopes>,
) -> ApiResult<StatusCode> {
    let (_, conversation) = chat::member_of(&state, &user.user_id, &id).await?;
    let mut errors = FieldErrors::new();
    if request.envelopes.is_empty() {
        errors.insert("envelopes".into(), vec!["Name at least one member.".into()]);
    }
    for (member, envelope) in &request.envelopes {
        if !conversation.participant_ids.contains(member) {
            errors.insert(
                format!("envelopes.{member}"),
                vec!["Not a member of this conversation.".into()],
            );
        } else if envelope.to_string().len() > MAX_ENVELOPE_BYTES {
            errors.insert(
                format!("envelopes.{member}"),
                vec!["At most 16 KiB.".into()],
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = Utc::now();
    for (member, envelope) in request.envelopes {
        // Stored under (recipient, caller): this replaces only the caller's own envelope.
        let doc = EnvelopeDoc::new(&id, member, user.user_id.clone(), envelope, now);
        store::put_envelope(&state, &doc).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, operation_id = "getMyKeyEnvelope", path = "/api/v1/conversations/{id}/keys/me", tag = "chat", security(("bearer" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The envelopes addressed to the caller, one per sender (`senderId`), in a stable order", body = MyEnvelopes),
        (status = 404, description = "No such conversation of yours, or `NO_KEY` stored for you", body = Problem),
    ))]
pub async fn my_envelope(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<MyEnvelopes>> {
    chat::member(&state, &user.user_id, &id).await?;
    let docs = store::envelopes_for(&state, &id, &user.user_id).await?;
    if docs.is_empty() {
        return Err(ApiError::new(
            Code::NoKey,
            "No key was stored for you here.",
        ));
    }
    Ok(AppJson(MyEnvelopes {
        envelopes: docs
            .into_iter()
            .map(|doc| Envelope {
                sender_id: doc.from,
                envelope: doc.envelope,
                updated_at: doc.updated_at,
            })
            .collect(),
    }))
}

#[utoipa::path(put, operation_id = "putKeyBackup", path = "/api/v1/users/me/key-backup", tag = "chat", security(("bearer" = [])), request_body = KeyBackup,
    responses(
        (status = 200, description = "Stored", body = StoredBackup),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: over 64 KiB", body = Problem),
    ))]
pub async fn put_backup(
    State(state): State<AppState>,
    user: AuthUser,
    AppJson(request): AppJson<KeyBackup>,
) -> ApiResult<AppJson<StoredBackup>> {
    if request.backup.to_string().len() > MAX_BACKUP_BYTES || request.backup.is_null() {
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            "A key backup is 1 byte to 64 KiB of JSON.",
        ));
    }
    let stored = store::put_backup(&state, &user.user_id, request.backup, Utc::now()).await?;
    Ok(AppJson(stored.into()))
}

#[utoipa::path(get, operation_id = "getKeyBackup", path = "/api/v1/users/me/key-backup", tag = "chat", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's backup", body = StoredBackup),
        (status = 404, description = "`NO_BACKUP`", body = Problem),
    ))]
pub async fn get_backup(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<AppJson<StoredBackup>> {
    let doc = store::backup(&state, &user.user_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::NoBackup, "No key backup is stored."))?;
    Ok(AppJson(doc.into()))
}
