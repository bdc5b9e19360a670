//! Blobs in a local folder: `data/<container>/<name>` for the bytes, `props/<container>/<name>.json`
//! for content type and metadata. Writes go to a temporary file and are renamed into place, so
//! a reader never sees half a blob. Signed URLs point at this process's own
//! `/api/dev/blobs/...` route and carry an HMAC, as a SAS does.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use super::blocks::Block;
use crate::store::{
    BlobItem, BlobProps, Blobs, Page, PutOptions, ReadHeaders, SasAccess, StoreError, StoreResult,
};

pub struct FolderBlobs {
    root: PathBuf,
    signing_key: Vec<u8>,
    public_base_url: url::Url,
}

#[derive(Serialize, Deserialize, Default)]
struct StoredProps {
    content_type: Option<String>,
    etag: String,
    metadata: Vec<(String, String)>,
    /// The blocks a block list committed, for Get Block List; `None` for a whole-blob put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocks: Option<Vec<Block>>,
}

pub(crate) fn check_container(container: &str) -> StoreResult<()> {
    let ok = (3..=63).contains(&container.len())
        && container
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::bug(format!("bad container name '{container}'")))
    }
}

/// Blob names become file paths here, so anything that could climb out of the folder or
/// alias another name is refused.
pub(crate) fn check_name(name: &str) -> StoreResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control)
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadInput(crate::store::BadInput::BlobName))
    }
}

pub(super) fn io(e: std::io::Error) -> StoreError {
    StoreError::Other(e.into())
}

impl FolderBlobs {
    pub fn open(
        root: &Path,
        signing_key: Vec<u8>,
        public_base_url: url::Url,
    ) -> anyhow::Result<Self> {
        for sub in ["data", "props", "tmp"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self {
            root: root.to_owned(),
            signing_key,
            public_base_url,
        })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    fn data_path(&self, container: &str, name: &str) -> PathBuf {
        self.root.join("data").join(container).join(name)
    }

    fn props_path(&self, container: &str, name: &str) -> PathBuf {
        self.root
            .join("props")
            .join(container)
            .join(format!("{name}.json"))
    }

    /// A fresh temporary file on the same filesystem, for streaming writes.
    pub fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }

    /// Moves a fully written temporary file into place as the blob.
    pub async fn commit(
        &self,
        container: &str,
        name: &str,
        temp: &Path,
        options: PutOptions,
    ) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(name)?;
        let data = self.data_path(container, name);
        let if_not_exists = options.if_not_exists;
        if if_not_exists && tokio::fs::try_exists(&data).await.map_err(io)? {
            let _ = tokio::fs::remove_file(temp).await;
            return Err(StoreError::Conflict);
        }
        let props = StoredProps {
            content_type: options.content_type,
            etag: format!("\"{}\"", uuid::Uuid::new_v4()),
            metadata: options.metadata,
            blocks: None,
        };
        let props_path = self.props_path(container, name);
        for dir in [data.parent(), props_path.parent()].into_iter().flatten() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        if if_not_exists {
            // A hard link fails when the name exists, in one step: of two racing creates
            // only one wins, where check-then-rename would let the second overwrite the first.
            let claimed = tokio::fs::hard_link(temp, &data).await;
            let _ = tokio::fs::remove_file(temp).await;
            match claimed {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(StoreError::Conflict);
                }
                Err(e) => return Err(io(e)),
            }
        }
        self.write_props(&props_path, &props).await?;
        if !if_not_exists {
            tokio::fs::rename(temp, &data).await.map_err(io)?;
        }
        self.head(container, name)
            .await?
            .ok_or(StoreError::NotFound)
    }

    fn signature(
        &self,
        container: &str,
        name: &str,
        permission: &str,
        expiry: i64,
        headers: &ReadHeaders,
    ) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key).expect("any key length");
        let rsct = headers.content_type.as_deref().unwrap_or_default();
        let rscd = headers.content_disposition.as_deref().unwrap_or_default();
        mac.update(
            format!("{container}\n{name}\n{permission}\n{expiry}\n{rsct}\n{rscd}").as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Checks a signed URL's query against the blob it addresses and the access wanted.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        container: &str,
        name: &str,
        wanted: SasAccess,
        permission: &str,
        expiry: i64,
        headers: &ReadHeaders,
        signature: &str,
    ) -> bool {
        // What each signed permission allows, as Blob Storage has it: a staging URL (`rw`)
        // reads, writes and lists blocks of its blob; `c` only creates; `r` only reads.
        let allowed = match wanted {
            SasAccess::Read => permission == "r" || permission == "rw",
            SasAccess::Create => permission == "c",
            SasAccess::Stage => permission == "rw",
        };
        let expected = self.signature(container, name, permission, expiry, headers);
        let same = expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        allowed && same && expiry > Utc::now().timestamp()
    }
}

impl FolderBlobs {
    /// Where the blob's bytes are, for serving them with range support.
    pub async fn blob_path(
        &self,
        container: &str,
        name: &str,
    ) -> StoreResult<Option<(PathBuf, BlobProps)>> {
        Ok(self
            .head(container, name)
            .await?
            .map(|props| (self.data_path(container, name), props)))
    }

    /// The blob as an open file, for streaming it out without loading it.
    pub async fn open_blob(
        &self,
        container: &str,
        name: &str,
    ) -> StoreResult<Option<(tokio::fs::File, BlobProps)>> {
        let Some(props) = self.head(container, name).await? else {
            return Ok(None);
        };
        match tokio::fs::File::open(self.data_path(container, name)).await {
            Ok(file) => Ok(Some((file, props))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

impl FolderBlobs {
    pub(super) async fn stored_blocks(
        &self,
        container: &str,
        name: &str,
    ) -> StoreResult<Option<Vec<Block>>> {
        Ok(read_props(&self.props_path(container, name)).await?.blocks)
    }

    /// Records which blocks the blob was committed from.
    pub(super) async fn set_stored_blocks(
        &self,
        container: &str,
        name: &str,
        blocks: Vec<Block>,
    ) -> StoreResult<()> {
        let path = self.props_path(container, name);
        let mut props = read_props(&path).await?;
        props.blocks = Some(blocks);
        self.write_props(&path, &props).await
    }

    async fn write_props(&self, path: &Path, props: &StoredProps) -> StoreResult<()> {
        let temp = self.temp_path();
        tokio::fs::write(&temp, serde_json::to_vec(props).expect("serialisable"))
            .await
            .map_err(io)?;
        tokio::fs::rename(&temp, path).await.map_err(io)
    }
}

async fn read_props(path: &Path) -> StoreResult<StoredProps> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredProps::default()),
        Err(e) => Err(io(e)),
    }
}

#[async_trait]
impl Blobs for FolderBlobs {
    async fn put(
        &self,
        container: &str,
        name: &str,
        data: Bytes,
        options: PutOptions,
    ) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(name)?;
        let temp = self.temp_path();
        let mut file = tokio::fs::File::create(&temp).await.map_err(io)?;
        file.write_all(&data).await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        self.commit(container, name, &temp, options).await
    }

    async fn get(&self, container: &str, name: &str) -> StoreResult<Option<(Bytes, BlobProps)>> {
        let Some(props) = self.head(container, name).await? else {
            return Ok(None);
        };
        match tokio::fs::read(self.data_path(container, name)).await {
            Ok(bytes) => Ok(Some((Bytes::from(bytes), props))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn read_prefix(
        &self,
        container: &str,
        name: &str,
        len: u64,
    ) -> StoreResult<Option<Bytes>> {
        use tokio::io::AsyncReadExt;
        let Some((file, _)) = self.open_blob(container, name).await? else {
            return Ok(None);
        };
        let mut buffer = Vec::new();
        file.take(len).read_to_end(&mut buffer).await.map_err(io)?;
        Ok(Some(Bytes::from(buffer)))
    }

    async fn head(&self, container: &str, name: &str) -> StoreResult<Option<BlobProps>> {
        check_container(container)?;
        check_name(name)?;
        let meta = match tokio::fs::metadata(self.data_path(container, name)).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let stored = read_props(&self.props_path(container, name)).await?;
        Ok(Some(BlobProps {
            size: meta.len(),
            content_type: stored.content_type,
            etag: Some(stored.etag),
            last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
            metadata: stored.metadata,
        }))
    }

    async fn delete(&self, container: &str, name: &str) -> StoreResult<bool> {
        check_container(container)?;
        check_name(name)?;
        let _ = tokio::fs::remove_file(self.props_path(container, name)).await;
        match tokio::fs::remove_file(self.data_path(container, name)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(e)),
        }
    }

    async fn promote(&self, container: &str, from: &str, to: &str) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(from)?;
        check_name(to)?;
        let Some(props) = self.head(container, from).await? else {
            return Err(StoreError::NotFound);
        };
        // A link of the staged bytes, made create-only by `commit`; the staging name is then
        // removed, so nothing the staging URL writes later reaches the promoted blob.
        let temp = self.temp_path();
        tokio::fs::hard_link(self.data_path(container, from), &temp)
            .await
            .map_err(io)?;
        let options = PutOptions {
            content_type: props.content_type,
            metadata: props.metadata,
            if_not_exists: true,
        };
        let promoted = self.commit(container, to, &temp, options).await?;
        self.discard(container, from).await?;
        Ok(promoted)
    }

    async fn discard(&self, container: &str, name: &str) -> StoreResult<()> {
        self.delete(container, name).await?;
        self.drop_blocks(container, name).await
    }

    async fn list(
        &self,
        container: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: u32,
    ) -> StoreResult<Page<BlobItem>> {
        check_container(container)?;
        let root = self.root.join("data").join(container);
        let prefix = prefix.to_owned();
        let after = continuation.map(str::to_owned);
        // Walking a folder is blocking file-system work: keep it off the runtime.
        let mut names = tokio::task::spawn_blocking(move || {
            let mut names = Vec::new();
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if let Ok(rel) = path.strip_prefix(&root) {
                        let name = rel.to_string_lossy().replace('\\', "/");
                        if name.starts_with(&prefix)
                            && after.as_deref().is_none_or(|a| name.as_str() > a)
                        {
                            names.push(name);
                        }
                    }
                }
            }
            names.sort();
            names
        })
        .await
        .map_err(|e| StoreError::Other(e.into()))?;
        let max = max.clamp(1, 5000) as usize;
        let more = names.len() > max;
        names.truncate(max);
        let mut items = Vec::with_capacity(names.len());
        for name in names {
            if let Some(props) = self.head(container, &name).await? {
                items.push(BlobItem { name, props });
            }
        }
        let continuation = more.then(|| items.last().map(|i| i.name.clone())).flatten();
        Ok(Page {
            items,
            continuation,
        })
    }

    async fn signed_url(
        &self,
        container: &str,
        name: &str,
        access: SasAccess,
        expires: DateTime<Utc>,
        headers: &ReadHeaders,
    ) -> StoreResult<url::Url> {
        check_container(container)?;
        check_name(name)?;
        let permission = match access {
            SasAccess::Read => "r",
            SasAccess::Create => "c",
            SasAccess::Stage => "rw",
        };
        let expiry = expires.timestamp();
        let mut url = self.public_base_url.clone();
        url.path_segments_mut()
            .map_err(|_| StoreError::bug("PUBLIC_BASE_URL cannot be a base"))?
            .pop_if_empty()
            .extend(["api", "dev", "blobs", container])
            .extend(name.split('/'));
        let signature = self.signature(container, name, permission, expiry, headers);
        let mut query = url.query_pairs_mut();
        query
            .append_pair("sp", permission)
            .append_pair("se", &expiry.to_string());
        if let Some(v) = &headers.content_type {
            query.append_pair("rsct", v);
        }
        if let Some(v) = &headers.content_disposition {
            query.append_pair("rscd", v);
        }
        query.append_pair("sig", &signature);
        drop(query);
        Ok(url)
    }

    async fn ping(&self) -> StoreResult<()> {
        tokio::fs::metadata(&self.root).await.map_err(io)?;
        Ok(())
    }
}
