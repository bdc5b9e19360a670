//! A cache with every key under a prefix.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Cache, StoreResult};

/// Puts every key under a prefix, so several deployments (or test apps) can share one Redis
/// without seeing each other's counters, revocations and caches.
pub struct PrefixedCache {
    prefix: String,
    inner: Arc<dyn Cache>,
}

impl PrefixedCache {
    pub fn new(prefix: &str, inner: Arc<dyn Cache>) -> Self {
        Self {
            prefix: format!("{prefix}:"),
            inner,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Cache for PrefixedCache {
    async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.get(&self.key(key)).await
    }
    async fn get_many(&self, keys: &[&str]) -> StoreResult<Vec<Option<String>>> {
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.inner.get_many(&keys).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        self.inner.set(&self.key(key), value, ttl).await
    }
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        self.inner.set_nx(&self.key(key), value, ttl).await
    }
    async fn del(&self, key: &str) -> StoreResult<()> {
        self.inner.del(&self.key(key)).await
    }
    async fn exists(&self, key: &str) -> StoreResult<bool> {
        self.inner.exists(&self.key(key)).await
    }
    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> StoreResult<i64> {
        self.inner.incr(&self.key(key), by, ttl).await
    }
    async fn ttl(&self, key: &str) -> StoreResult<Option<Duration>> {
        self.inner.ttl(&self.key(key)).await
    }
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        self.inner.set_add(&self.key(key), member, ttl).await
    }
    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        self.inner.set_remove(&self.key(key), member).await
    }
    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        self.inner.set_members(&self.key(key)).await
    }
    async fn purge_expired(&self) -> StoreResult<u64> {
        self.inner.purge_expired().await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}
