//! The embedded twins: a SQLite file, a folder, an in-process cache and a local key file under
//! `DATA_DIR`, so the handler runs on a bare machine with no Azure at all.

mod blobs;
mod blocks;
mod cache;
mod documents;
mod queues;
mod read_cache;
mod secrets;
mod sqlite;
mod sqlite_query;

use std::path::Path;
use std::sync::Arc;

pub use blobs::FolderBlobs;
pub use blocks::{Block, MAX_BLOCKS, check_block_id};
pub use cache::MemoryCache;
pub use documents::SqliteDocuments;
pub use queues::SqliteQueues;
pub use read_cache::ReadCached;
pub use secrets::FileSecrets;
pub use sqlite::Sqlite;

pub(crate) use blobs::{check_container, check_name};
pub(crate) use queues::check_queue_name;

/// Every embedded store over one data folder. Opening touches only local files.
pub struct EmbeddedStores {
    pub documents: Arc<ReadCached<SqliteDocuments>>,
    pub queues: Arc<SqliteQueues>,
    pub blobs: Arc<FolderBlobs>,
    pub secrets: Arc<FileSecrets>,
    pub cache: Arc<MemoryCache>,
}

impl EmbeddedStores {
    pub fn open(data_dir: &Path, public_base_url: &url::Url) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            anyhow::anyhow!(
                "setting DATA_DIR: cannot create {}: {e}",
                data_dir.display()
            )
        })?;
        let db = Sqlite::open(&data_dir.join("store.sqlite"));
        let signing_key = local_key(&data_dir.join("blob-signing.key"))?;
        Ok(Self {
            documents: Arc::new(ReadCached::new(SqliteDocuments::new(db.clone()))),
            queues: Arc::new(SqliteQueues::new(db)),
            blobs: Arc::new(FolderBlobs::open(
                &data_dir.join("blobs"),
                signing_key,
                public_base_url.clone(),
            )?),
            secrets: Arc::new(FileSecrets::new(&data_dir.join("secrets.json"))),
            cache: Arc::new(MemoryCache::default()),
        })
    }
}

/// A random 256-bit key kept in a file, made on first use, so signed URLs stay valid across
/// restarts.
fn local_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(path)
        && bytes.len() >= 32
    {
        return Ok(bytes);
    }
    let key: [u8; 32] = rand::random();
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(&key)?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, key)?;
    Ok(key.to_vec())
}
