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

    async fn save(&self, all: &BTreeMap<String, Vec<StoredVersion>>) -> StoreResult<()> {
        let temp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(all).map_err(io)?;
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&temp).await.map_err(io)?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &bytes)
            .await
            .map_err(io)?;
        file.sync_all().await.map_err(io)?;
        tokio::fs::rename(&temp, &self.path).await.map_err(io)
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
        let mut all = self.load().await?;
        let stored = StoredVersion {
            version: uuid::Uuid::new_v4().simple().to_string(),
            value: value.to_owned(),
            created: Utc::now(),
        };
        all.entry(name.to_owned()).or_default().push(stored.clone());
        self.save(&all).await?;
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
