//! Block blobs in the folder store, as Blob Storage keeps them: Put Block stages a block under
//! `blocks/<container>/<name>/`, Put Block List writes the listed blocks, in order, as the blob
//! and drops the staged ones, Get Block List names what is staged and what was committed. A
//! staged block stays until its blob is committed or discarded, so an interrupted upload
//! resumes with the blocks it already sent.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use super::blobs::{FolderBlobs, check_container, check_name, io};
use crate::store::{BadInput, BlobProps, PutOptions, StoreError, StoreResult};

/// A block as Get Block List names it: its id as the client sent it (base64) and its size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub id: String,
    pub size: u64,
}

/// Azure's limits: an id is base64 of at most 64 bytes; a blob has at most 100,000
/// uncommitted and 50,000 committed blocks.
const MAX_ID_BYTES: usize = 64;
pub const MAX_BLOCKS: usize = 50_000;
const MAX_UNCOMMITTED: usize = 100_000;

/// A block id is base64 (standard alphabet, padded) of 1 to 64 bytes; anything else is refused
/// as Blob Storage refuses it (`InvalidQueryParameterValue`).
pub fn check_block_id(id: &str) -> StoreResult<()> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(id) {
        Ok(raw) if !raw.is_empty() && raw.len() <= MAX_ID_BYTES => Ok(()),
        _ => Err(StoreError::BadInput(BadInput::BlockId)),
    }
}

/// The staged block's file: the id hex-encoded, so no id is a path.
fn block_file(dir: &Path, id: &str) -> PathBuf {
    let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("block-{hex}"))
}

fn id_of(file_name: &str) -> Option<String> {
    let hex = file_name.strip_prefix("block-")?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl FolderBlobs {
    fn blocks_dir(&self, container: &str, name: &str) -> PathBuf {
        self.root()
            .join("blocks")
            .join(container)
            .join(format!("{name}.blocks"))
    }

    /// Moves a fully written temporary file in as the staged block `id` (replacing a block of
    /// the same id, as Put Block does).
    pub async fn stage_block(
        &self,
        container: &str,
        name: &str,
        id: &str,
        temp: &Path,
    ) -> StoreResult<()> {
        check_container(container)?;
        check_name(name)?;
        check_block_id(id)?;
        let dir = self.blocks_dir(container, name);
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        if self.uncommitted(container, name).await?.len() >= MAX_UNCOMMITTED {
            let _ = tokio::fs::remove_file(temp).await;
            return Err(StoreError::BadInput(BadInput::BlockList));
        }
        tokio::fs::rename(temp, block_file(&dir, id))
            .await
            .map_err(io)
    }

    /// The staged blocks, oldest first.
    pub async fn uncommitted(&self, container: &str, name: &str) -> StoreResult<Vec<Block>> {
        check_container(container)?;
        check_name(name)?;
        let dir = self.blocks_dir(container, name);
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        let mut blocks = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let meta = entry.metadata().await.map_err(io)?;
            let Some(id) = entry.file_name().to_str().and_then(id_of) else {
                continue;
            };
            if meta.is_file() {
                blocks.push((
                    meta.modified().ok(),
                    Block {
                        id,
                        size: meta.len(),
                    },
                ));
            }
        }
        blocks.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        Ok(blocks.into_iter().map(|(_, b)| b).collect())
    }

    /// The blocks the blob was last committed from.
    pub async fn committed(&self, container: &str, name: &str) -> StoreResult<Vec<Block>> {
        Ok(self
            .stored_blocks(container, name)
            .await?
            .unwrap_or_default())
    }

    /// Writes the staged blocks `ids`, in that order, as the blob (no larger than `max`
    /// bytes), then drops every staged block. A listed id that is not staged is refused
    /// (`InvalidBlockList`) and nothing changes.
    pub async fn commit_blocks(
        &self,
        container: &str,
        name: &str,
        ids: &[String],
        max: u64,
        options: PutOptions,
    ) -> StoreResult<BlobProps> {
        check_container(container)?;
        check_name(name)?;
        if ids.len() > MAX_BLOCKS {
            return Err(StoreError::BadInput(BadInput::BlockList));
        }
        let dir = self.blocks_dir(container, name);
        let staged = self.uncommitted(container, name).await?;
        let mut committed = Vec::with_capacity(ids.len());
        for id in ids {
            check_block_id(id)?;
            let block = staged
                .iter()
                .find(|b| &b.id == id)
                .ok_or(StoreError::BadInput(BadInput::BlockList))?;
            committed.push(block.clone());
        }
        if committed.iter().map(|b| b.size).sum::<u64>() > max {
            return Err(StoreError::BadInput(BadInput::TooLarge));
        }
        // Streamed block by block into a temporary file: a large blob never sits in memory.
        let temp = self.temp_path();
        let written = async {
            let mut out = tokio::fs::File::create(&temp).await.map_err(io)?;
            for block in &committed {
                let mut part = tokio::fs::File::open(block_file(&dir, &block.id))
                    .await
                    .map_err(io)?;
                tokio::io::copy(&mut part, &mut out).await.map_err(io)?;
            }
            out.flush().await.map_err(io)?;
            out.sync_all().await.map_err(io)
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e);
        }
        let props = self.commit(container, name, &temp, options).await?;
        self.set_stored_blocks(container, name, committed).await?;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Ok(props)
    }

    /// Drops the staged blocks of a blob.
    pub async fn drop_blocks(&self, container: &str, name: &str) -> StoreResult<()> {
        check_container(container)?;
        check_name(name)?;
        match tokio::fs::remove_dir_all(self.blocks_dir(container, name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}
