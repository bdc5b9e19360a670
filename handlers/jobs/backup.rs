//! `backup` (timer, daily): every document container to `backups/{date}/{container}.jsonl.gz`
//! (gzip JSON Lines, system fields dropped), then `backups/{date}/manifest.json` with each
//! file's count and SHA-256, written last so a manifest always describes complete files.
//! Backups older than `BACKUP_RETENTION_DAYS` are removed.
//!
//! [`restore`] (`handler restore --from {date}`) loads a backup into an empty store, checking
//! every file against the manifest first; a store that holds documents is refused unless
//! forced, and then the backup's documents overwrite those with the same ids.

use std::io::{Read, Write};

use chrono::{NaiveDate, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;
use crate::store::schema::CONTAINERS;
use crate::store::{PutOptions, Query};

pub const CONTAINER: &str = "backups";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub container: String,
    pub blob: String,
    pub count: u64,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub date: NaiveDate,
    pub created_at: chrono::DateTime<Utc>,
    pub files: Vec<FileEntry>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip_error(e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("compressing: {e}")
}

/// Writes one container's documents, page by page into the compressor.
async fn export_container(
    state: &AppState,
    date: NaiveDate,
    container: &str,
) -> anyhow::Result<FileEntry> {
    let query = Query::default().limit(1000);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut count = 0u64;
    let mut token: Option<String> = None;
    loop {
        let page = state
            .stores
            .documents
            .query(container, None, &query, token.as_deref())
            .await?;
        for doc in page.items {
            let mut value = doc.value;
            if let Some(object) = value.as_object_mut() {
                object.retain(|k, _| !k.starts_with('_'));
            }
            serde_json::to_writer(&mut gz, &value)?;
            gz.write_all(b"\n").map_err(gzip_error)?;
            count += 1;
        }
        match page.continuation {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    let bytes = gz.finish().map_err(gzip_error)?;
    let entry = FileEntry {
        container: container.to_owned(),
        blob: format!("{date}/{container}.jsonl.gz"),
        count,
        bytes: bytes.len() as u64,
        sha256: hex(&Sha256::digest(&bytes)),
    };
    state
        .stores
        .blobs
        .put(
            CONTAINER,
            &entry.blob,
            bytes.into(),
            PutOptions {
                content_type: Some("application/gzip".into()),
                ..Default::default()
            },
        )
        .await?;
    Ok(entry)
}

/// Takes a backup for `date`; a second one the same day replaces the first.
pub async fn backup(state: &AppState, date: NaiveDate) -> anyhow::Result<Manifest> {
    let mut files = Vec::new();
    for spec in CONTAINERS {
        files.push(export_container(state, date, spec.name).await?);
    }
    let manifest = Manifest {
        date,
        created_at: Utc::now(),
        files,
    };
    state
        .stores
        .blobs
        .put(
            CONTAINER,
            &format!("{date}/manifest.json"),
            serde_json::to_vec_pretty(&manifest)?.into(),
            PutOptions {
                content_type: Some("application/json".into()),
                ..Default::default()
            },
        )
        .await?;
    Ok(manifest)
}

/// Removes backups of days before `keep_from`. Returns how many blobs went.
pub async fn prune(state: &AppState, keep_from: NaiveDate) -> anyhow::Result<u64> {
    let blobs = &state.stores.blobs;
    let mut removed = 0;
    let mut marker: Option<String> = None;
    loop {
        let page = blobs.list(CONTAINER, "", marker.as_deref(), 1000).await?;
        for item in page.items {
            let day = item
                .name
                .split('/')
                .next()
                .and_then(|d| d.parse::<NaiveDate>().ok());
            if day.is_some_and(|d| d < keep_from) && blobs.delete(CONTAINER, &item.name).await? {
                removed += 1;
            }
        }
        match page.continuation {
            Some(next) => marker = Some(next),
            None => return Ok(removed),
        }
    }
}

pub async fn run(state: AppState, _invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let started = std::time::Instant::now();
    let today = Utc::now().date_naive();
    let manifest = backup(&state, today).await?;
    let keep_from = today - chrono::Duration::days(i64::from(state.settings.backup_retention_days));
    let pruned = prune(&state, keep_from).await?;
    let ms = started.elapsed().as_millis() as u64;
    let documents: u64 = manifest.files.iter().map(|f| f.count).sum();
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "backup: {documents} documents from {} containers, {bytes} bytes, {pruned} old blobs removed, {ms} ms",
        manifest.files.len()
    ));
    reply.return_value = serde_json::json!({
        "date": today, "documents": documents, "bytes": bytes, "pruned": pruned, "durationMs": ms,
    });
    super::record_run(&state, "backup", &reply.return_value).await?;
    Ok(reply)
}

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Restored {
    pub documents: u64,
    pub containers: usize,
}

/// Loads the backup of `date`. Refuses a store that already holds documents unless `force`.
pub async fn restore(state: &AppState, date: NaiveDate, force: bool) -> anyhow::Result<Restored> {
    let blobs = &state.stores.blobs;
    let docs = &state.stores.documents;
    let (manifest, _) = blobs
        .get(CONTAINER, &format!("{date}/manifest.json"))
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("no backup for {date} (no {date}/manifest.json in '{CONTAINER}')")
        })?;
    let manifest: Manifest = serde_json::from_slice(&manifest)?;
    if !force {
        // `jobs` holds the app's own timer runs, which a fresh deployment writes within a
        // minute of starting: they are no data to protect, and the restore overwrites them.
        for spec in CONTAINERS
            .iter()
            .filter(|s| s.name != crate::store::schema::JOBS.name)
        {
            let page = docs
                .query(spec.name, None, &Query::default().limit(1), None)
                .await?;
            anyhow::ensure!(
                page.items.is_empty(),
                "the store is not empty ('{}' holds documents); restore into an empty store, or force it",
                spec.name
            );
        }
    }
    // Every file is checked before the first document is written.
    let mut files = Vec::new();
    for entry in &manifest.files {
        let (bytes, _) = blobs
            .get(CONTAINER, &entry.blob)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{} is missing", entry.blob))?;
        anyhow::ensure!(
            hex(&Sha256::digest(&bytes)) == entry.sha256,
            "{} does not match its SHA-256",
            entry.blob
        );
        files.push((entry, bytes));
    }
    let mut restored = Restored {
        documents: 0,
        containers: files.len(),
    };
    for (entry, bytes) in files {
        let spec = crate::store::schema::container(&entry.container).ok_or_else(|| {
            anyhow::anyhow!(
                "the backup names an unknown container '{}'",
                entry.container
            )
        })?;
        let pk_field = spec.partition_key.trim_start_matches('/');
        let mut text = String::new();
        GzDecoder::new(bytes.as_ref()).read_to_string(&mut text)?;
        let mut count = 0;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let doc: Value = serde_json::from_str(line)?;
            let pk = doc[pk_field]
                .as_str()
                .ok_or_else(|| {
                    anyhow::anyhow!("a document of '{}' has no {pk_field}", entry.container)
                })?
                .to_owned();
            docs.upsert(spec.name, &pk, doc).await?;
            count += 1;
        }
        anyhow::ensure!(
            count == entry.count,
            "{} holds {count} documents, its manifest {}",
            entry.blob,
            entry.count
        );
        restored.documents += count;
    }
    Ok(restored)
}
