//! Secrets in a local JSON file (`secrets.json` under `DATA_DIR`, mode 0600): every version of
//! each secret, so key rotation behaves as it does with Key Vault versions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::store::{SecretVersion, Secrets, StoreError, StoreResult};

#[derive(Serialize, Deserialize, Clone)]
struct StoredVersion {
    version: String,
    value: String,
    created: DateTime<Utc>,
}

pub struct FileSecrets {
    path: PathBuf,
    /// Serialises read-modify-write of the file within this process.
    lock: Mutex<()>,
}

fn io(e: impl Into<anyhow::Error>) -> StoreError {
    StoreError::Other(e.into())
}

impl FileSecrets {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            lock: Mutex::new(()),
        }
    }

    async fn load(&self) -> StoreResult<BTreeMap<String, Vec<StoredVersion>>> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(e)),
        }
    }

    /// Adds `stored` under `name` while holding an exclusive lock on `secrets.json.lock`, so
    /// two processes starting on one empty `DATA_DIR` (two local instances, a test and a
    /// benchmark) both add their key instead of one overwriting the other's. The file is
    /// replaced through a temporary file of this process's own, then renamed.
    async fn append(&self, name: &str, stored: StoredVersion) -> StoreResult<()> {
        let path = self.path.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || -> StoreResult<()> {
            let lock_path = path.with_extension("json.lock");
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(io)?;
            lock.lock().map_err(io)?;
            let mut all: BTreeMap<String, Vec<StoredVersion>> = match std::fs::read(&path) {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(io)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
                Err(e) => return Err(io(e)),
            };
            all.entry(name).or_default().push(stored);
            let bytes = serde_json::to_vec_pretty(&all).map_err(io)?;
            let temp = path.with_extension(format!("json.{}.tmp", uuid::Uuid::new_v4().simple()));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temp).map_err(io)?;
            std::io::Write::write_all(&mut file, &bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&temp, &path).map_err(io)
            // The lock is released when `lock` is dropped.
        })
        .await
        .map_err(io)?
    }
}

#[async_trait]
impl Secrets for FileSecrets {
    async fn versions(&self, name: &str) -> StoreResult<Vec<SecretVersion>> {
        let _guard = self.lock.lock().await;
        let all = self.load().await?;
        let mut versions: Vec<SecretVersion> = all
            .get(name)
            .into_iter()
            .flatten()
            .map(|v| SecretVersion {
                version: v.version.clone(),
                value: v.value.clone(),
                created: v.created,
            })
            .collect();
        versions.reverse();
        Ok(versions)
    }

    async fn set(&self, name: &str, value: &str) -> StoreResult<SecretVersion> {
        let _guard = self.lock.lock().await;
        let stored = StoredVersion {
            version: uuid::Uuid::new_v4().simple().to_string(),
            value: value.to_owned(),
            created: Utc::now(),
        };
        self.append(name, stored.clone()).await?;
        Ok(SecretVersion {
            version: stored.version,
            value: stored.value,
            created: stored.created,
        })
    }

    async fn ping(&self) -> StoreResult<()> {
        if let Some(dir) = self.path.parent() {
            tokio::fs::metadata(dir).await.map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_stores_on_one_file_lose_no_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        // Two instances, as two processes starting on one empty DATA_DIR would have.
        let (a, b) = (FileSecrets::new(&path), FileSecrets::new(&path));
        let values: Vec<(bool, String)> = (0..10)
            .flat_map(|i| [(true, format!("a{i}")), (false, format!("b{i}"))])
            .collect();
        let writes = values.iter().map(|(first, v)| {
            if *first {
                a.set("jwt", v)
            } else {
                b.set("jwt", v)
            }
        });
        for result in futures::future::join_all(writes).await {
            result.unwrap();
        }
        assert_eq!(a.versions("jwt").await.unwrap().len(), 20);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
