//! Message archival (DESIGN.md section 7): messages older than `ARCHIVE_AFTER_DAYS` move to
//! `archives/{conversationId}/{yyyy}/{mm}/{dd}.jsonl.gz` (further parts of a day:
//! `{dd}.part-{nnn}.jsonl.gz`), gzip JSON Lines with their count, first and last id and SHA-256 in
//! the blob's metadata.
//!
//! One part at a time, at most [`PART_MAX`] messages, so memory stays bounded. A checkpoint
//! document in `jobs` records each part before its blob is written and again before its
//! messages are deleted; a run that finds a checkpoint finishes that part first:
//! - blob not there: nothing was deleted yet, the part is simply made again;
//! - blob there (checked against the checkpoint's SHA-256): its messages are deleted.
//!
//! So a crash at any step loses no message and archives none twice.

use std::io::{Read, Write};

use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::model::MessageDoc;
use super::store::checkpoint::{self, Checkpoint, Phase};
use super::store::{self as chat, messages};
use crate::auth::extract::AdminUser;
use crate::error::{ApiError, ApiResult, AppJson, FieldErrors, Problem};
use crate::state::AppState;
use crate::store::{BlobProps, PutOptions};

pub const CONTAINER: &str = "archives";
/// The most messages one part holds.
pub const PART_MAX: u32 = 5000;

/// Where a test makes a run fail, to prove the next one recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    AfterCheckpoint,
    AfterUpload,
    MidDelete,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Messages created before this are archived.
    pub cutoff: DateTime<Utc>,
    pub fail_at: Option<FailPoint>,
}

impl Options {
    pub fn from_settings(state: &AppState) -> Self {
        Options {
            cutoff: Utc::now()
                - chrono::Duration::days(i64::from(state.settings.archive_after_days)),
            fail_at: None,
        }
    }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub parts: u64,
    pub messages: u64,
    pub bytes: u64,
    /// A previous run's part was finished first.
    pub resumed: bool,
}

/// A part's blob metadata, as the admin list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivePart {
    pub conversation_id: String,
    /// The day its messages were sent.
    pub day: NaiveDate,
    pub count: u64,
    pub first_message_id: String,
    pub last_message_id: String,
    pub sha256: String,
    pub blob: String,
}

fn injected(at: FailPoint) -> anyhow::Error {
    anyhow::anyhow!("injected failure {at:?}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gzip JSON Lines of `messages` and its SHA-256.
fn encode(messages: &[MessageDoc]) -> anyhow::Result<(Vec<u8>, String)> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for message in messages {
        serde_json::to_writer(&mut gz, message)?;
        gz.write_all(b"\n")?;
    }
    let bytes = gz.finish()?;
    let sha = hex(&Sha256::digest(&bytes));
    Ok((bytes, sha))
}

/// The lines of a part, each one message as JSON, checked against its SHA-256.
fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], sha256: &str) -> anyhow::Result<Vec<T>> {
    anyhow::ensure!(
        hex(&Sha256::digest(bytes)) == sha256,
        "the archive's SHA-256 does not match"
    );
    let mut text = String::new();
    GzDecoder::new(bytes).read_to_string(&mut text)?;
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

fn meta<'a>(props: &'a BlobProps, key: &str) -> Option<&'a str> {
    props
        .metadata
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// `{conversationId}/{yyyy}/{mm}/{dd}[.part-{nnn}].jsonl.gz` -> (conversation, day).
fn parse_name(name: &str) -> Option<(String, NaiveDate)> {
    let mut parts = name.rsplitn(4, '/');
    let file = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let conversation = parts.next()?;
    let day = file.split('.').next()?;
    let date = NaiveDate::parse_from_str(&format!("{year}-{month}-{day}"), "%Y-%m-%d").ok()?;
    Some((conversation.to_owned(), date))
}

fn to_part(name: String, props: &BlobProps) -> Option<ArchivePart> {
    let (conversation_id, day) = parse_name(&name)?;
    Some(ArchivePart {
        conversation_id,
        day,
        count: meta(props, "count")?.parse().ok()?,
        first_message_id: meta(props, "firstmessageid")?.to_owned(),
        last_message_id: meta(props, "lastmessageid")?.to_owned(),
        sha256: meta(props, "sha256")?.to_owned(),
        blob: name,
    })
}

/// Reads a part back and checks it is what the checkpoint says; returns its message ids.
async fn verify(state: &AppState, checkpoint: &Checkpoint) -> anyhow::Result<Option<Vec<String>>> {
    let Some((bytes, _)) = state.stores.blobs.get(CONTAINER, &checkpoint.blob).await? else {
        return Ok(None);
    };
    let messages: Vec<MessageDoc> = decode(&bytes, &checkpoint.sha256)?;
    let ids: Vec<String> = messages.into_iter().map(|m| m.id).collect();
    anyhow::ensure!(
        ids.len() as u64 == checkpoint.count
            && ids.first() == Some(&checkpoint.first_message_id)
            && ids.last() == Some(&checkpoint.last_message_id),
        "archive {} does not hold what its checkpoint says",
        checkpoint.blob
    );
    Ok(Some(ids))
}

async fn delete_messages(
    state: &AppState,
    conversation_id: &str,
    ids: &[String],
    fail_at: Option<FailPoint>,
) -> anyhow::Result<()> {
    for (n, id) in ids.iter().enumerate() {
        if fail_at == Some(FailPoint::MidDelete) && n == ids.len() / 2 {
            return Err(injected(FailPoint::MidDelete));
        }
        messages::remove(state, conversation_id, id).await?;
    }
    Ok(())
}

/// Finishes the part a previous run left, if any.
async fn resume(state: &AppState) -> anyhow::Result<bool> {
    let Some(checkpoint) = checkpoint::load(state).await? else {
        return Ok(false);
    };
    match verify(state, &checkpoint).await? {
        Some(ids) => {
            delete_messages(state, &checkpoint.conversation_id, &ids, None).await?;
        }
        None if checkpoint.phase == Phase::Deleting => {
            anyhow::bail!(
                "archive {} is gone although its messages were being deleted",
                checkpoint.blob
            )
        }
        // Never written: the messages are all still live and will be archived again.
        None => {}
    }
    checkpoint::clear(state).await?;
    Ok(true)
}

/// The first free part name of a day.
async fn free_name(
    state: &AppState,
    conversation_id: &str,
    day: NaiveDate,
) -> anyhow::Result<String> {
    let base = format!("{conversation_id}/{}", day.format("%Y/%m/%d"));
    for n in 1.. {
        // Later parts sort after the first and in their order: `dd.jsonl.gz`,
        // `dd.part-002.jsonl.gz`, ...
        let name = if n == 1 {
            format!("{base}.jsonl.gz")
        } else {
            format!("{base}.part-{n:03}.jsonl.gz")
        };
        if state.stores.blobs.head(CONTAINER, &name).await?.is_none() {
            return Ok(name);
        }
    }
    unreachable!("some part number is free")
}

async fn archive_part(
    state: &AppState,
    conversation_id: &str,
    day: NaiveDate,
    messages: Vec<MessageDoc>,
    options: &Options,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let (bytes, sha256) = encode(&messages)?;
    let id_of = |m: &MessageDoc| m.id.clone();
    let mut checkpoint = Checkpoint::writing(
        conversation_id,
        free_name(state, conversation_id, day).await?,
        messages.len() as u64,
        messages.first().map(id_of).unwrap_or_default(),
        messages.last().map(id_of).unwrap_or_default(),
        sha256.clone(),
    );
    checkpoint::save(state, &checkpoint).await?;
    if options.fail_at == Some(FailPoint::AfterCheckpoint) {
        return Err(injected(FailPoint::AfterCheckpoint));
    }
    let size = bytes.len() as u64;
    let metadata = vec![
        ("count".to_owned(), checkpoint.count.to_string()),
        (
            "firstmessageid".to_owned(),
            checkpoint.first_message_id.clone(),
        ),
        (
            "lastmessageid".to_owned(),
            checkpoint.last_message_id.clone(),
        ),
        ("sha256".to_owned(), sha256),
    ];
    state
        .stores
        .blobs
        .put(
            CONTAINER,
            &checkpoint.blob,
            bytes.into(),
            PutOptions {
                content_type: Some("application/gzip".into()),
                metadata,
                if_not_exists: true,
            },
        )
        .await?;
    if options.fail_at == Some(FailPoint::AfterUpload) {
        return Err(injected(FailPoint::AfterUpload));
    }
    let ids = verify(state, &checkpoint)
        .await?
        .ok_or_else(|| anyhow::anyhow!("archive {} vanished after upload", checkpoint.blob))?;
    checkpoint.phase = Phase::Deleting;
    checkpoint::save(state, &checkpoint).await?;
    delete_messages(state, conversation_id, &ids, options.fail_at).await?;
    checkpoint::clear(state).await?;
    summary.parts += 1;
    summary.messages += checkpoint.count;
    summary.bytes += size;
    Ok(())
}

/// One archival run: the unfinished part first, then every conversation's old messages.
pub async fn run(state: &AppState, options: &Options) -> anyhow::Result<Summary> {
    let mut summary = Summary {
        resumed: resume(state).await?,
        ..Default::default()
    };
    let cutoff = options.cutoff.to_rfc3339();
    let mut page_token: Option<String> = None;
    loop {
        let (conversations, next) = chat::conversations_page(state, page_token.as_deref()).await?;
        for conversation in &conversations {
            let id = &conversation.id;
            // What is archived is deleted, so the query starts over until nothing is left.
            loop {
                let batch = messages::older_than(state, id, &cutoff, PART_MAX).await?;
                let Some(first) = batch.first() else {
                    break;
                };
                let day = first.created_at.date_naive();
                let part: Vec<MessageDoc> = batch
                    .into_iter()
                    .take_while(|m| m.created_at.date_naive() == day)
                    .collect();
                archive_part(state, id, day, part, options, &mut summary).await?;
            }
        }
        match next {
            Some(next) => page_token = Some(next),
            None => return Ok(summary),
        }
    }
}

/// Every part of a conversation (or of all of them), in name order.
pub async fn parts(state: &AppState, conversation_id: Option<&str>) -> ApiResult<Vec<ArchivePart>> {
    let prefix = conversation_id.map(|c| format!("{c}/")).unwrap_or_default();
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = state
            .stores
            .blobs
            .list(CONTAINER, &prefix, marker.as_deref(), 1000)
            .await?;
        out.extend(
            page.items
                .into_iter()
                .filter_map(|i| to_part(i.name, &i.props)),
        );
        match page.continuation {
            Some(next) => marker = Some(next),
            None => return Ok(out),
        }
    }
}

/// Whether a conversation has archived history.
pub async fn has_archive(state: &AppState, conversation_id: &str) -> ApiResult<bool> {
    let page = state
        .stores
        .blobs
        .list(CONTAINER, &format!("{conversation_id}/"), None, 1)
        .await?;
    Ok(!page.items.is_empty())
}

/// The messages of one part.
pub async fn read_messages(state: &AppState, part: &ArchivePart) -> ApiResult<Vec<MessageDoc>> {
    read(state, part).await
}

/// The messages of one part as the JSON lines say, for checks of what exactly was archived.
pub async fn read_part(state: &AppState, part: &ArchivePart) -> ApiResult<Vec<Value>> {
    read(state, part).await
}

async fn read<T: serde::de::DeserializeOwned>(
    state: &AppState,
    part: &ArchivePart,
) -> ApiResult<Vec<T>> {
    let (bytes, _) = state
        .stores
        .blobs
        .get(CONTAINER, &part.blob)
        .await?
        .ok_or_else(|| ApiError::not_found("The archive part is gone."))?;
    decode(&bytes, &part.sha256).map_err(ApiError::internal)
}

/// Rewrites a part with `change` applied to its messages (the erase's tombstones).
pub async fn rewrite_part(
    state: &AppState,
    part: &ArchivePart,
    change: impl Fn(&mut MessageDoc) -> bool,
) -> ApiResult<u64> {
    let mut changed = 0;
    let mut messages = read_messages(state, part).await?;
    for message in &mut messages {
        if change(message) {
            changed += 1;
        }
    }
    if changed == 0 {
        return Ok(0);
    }
    let (bytes, sha256) = encode(&messages).map_err(ApiError::internal)?;
    let metadata = vec![
        ("count".to_owned(), part.count.to_string()),
        ("firstmessageid".to_owned(), part.first_message_id.clone()),
        ("lastmessageid".to_owned(), part.last_message_id.clone()),
        ("sha256".to_owned(), sha256),
    ];
    state
        .stores
        .blobs
        .put(
            CONTAINER,
            &part.blob,
            bytes.into(),
            PutOptions {
                content_type: Some("application/gzip".into()),
                metadata,
                if_not_exists: false,
            },
        )
        .await?;
    Ok(changed)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub conversation_id: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivePage {
    pub items: Vec<ArchivePart>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, operation_id = "listArchives", path = "/api/v1/admin/archives", tag = "chat", security(("bearer" = ["admin"])), params(ListParams),
    responses((status = 200, description = "Archived parts, by conversation and day", body = ArchivePage), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<ArchivePage>> {
    let prefix = params
        .conversation_id
        .as_deref()
        .map(|c| format!("{c}/"))
        .unwrap_or_default();
    let page = state
        .stores
        .blobs
        .list(CONTAINER, &prefix, params.cursor.as_deref(), 100)
        .await?;
    Ok(AppJson(ArchivePage {
        items: page
            .items
            .into_iter()
            .filter_map(|i| to_part(i.name, &i.props))
            .collect(),
        next_cursor: page.continuation,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    pub conversation_id: String,
    /// First day, inclusive (`2025-01-31`).
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub parts: u64,
    pub messages: u64,
}

#[utoipa::path(post, operation_id = "restoreArchive", path = "/api/v1/admin/archives/restore", tag = "chat", security(("bearer" = ["admin"])), request_body = RestoreRequest,
    responses(
        (status = 200, description = "The days' messages are live again and their parts removed", body = Restored),
        (status = 400, description = "`VALIDATION_FAILED`", body = Problem),
        (status = 403, description = "`FORBIDDEN`", body = Problem),
    ))]
pub async fn restore(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppJson(request): AppJson<RestoreRequest>,
) -> ApiResult<AppJson<Restored>> {
    if request.from > request.to {
        return Err(ApiError::validation(FieldErrors::from([(
            "to".to_owned(),
            vec!["Use a day on or after `from`.".to_owned()],
        )])));
    }
    let mut restored = Restored {
        parts: 0,
        messages: 0,
    };
    for part in parts(&state, Some(&request.conversation_id)).await? {
        if part.day < request.from || part.day > request.to {
            continue;
        }
        // Messages first, then the part: a restore cut short is finished by repeating it, and
        // no message exists both live and archived once it completes.
        for message in read_messages(&state, &part).await? {
            messages::create(&state, &message).await?;
            restored.messages += 1;
        }
        state.stores.blobs.delete(CONTAINER, &part.blob).await?;
        restored.parts += 1;
    }
    crate::audit::record(
        &state,
        &_admin.0.user_id,
        "archive.restore",
        &request.conversation_id,
        serde_json::json!({"from": request.from, "to": request.to, "messages": restored.messages}),
    )
    .await;
    Ok(AppJson(restored))
}
