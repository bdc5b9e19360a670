//! Point reads of the embedded documents store, kept in memory. A read in SQLite is a hand-off
//! to the blocking pool (a thread wake-up and a lock each way), which costs more than the read;
//! documents read on every request (the caller's user) are then served from memory. Every
//! write through this store forgets the document it touched, so a read never returns what a
//! write of this process replaced. The embedded stores serve one process (see `embedded`): a
//! second handler on the same `DATA_DIR` would not see this one's writes in its own memory.
//!
//! Documents with a `ttl` are not kept (their expiry is the store's to decide), nor results of
//! queries.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde_json::Value;

use crate::store::doc;
use crate::store::{Doc, Documents, Filter, Page, PatchOp, Query, StoreResult};

/// How many documents are kept (least recently used go first).
const KEPT: usize = 10_000;

type Key = (String, String, String);

pub struct ReadCached<D> {
    inner: D,
    docs: quick_cache::sync::Cache<Key, Doc>,
    /// Counts writes: a read keeps what it found only if no write ended while it read, so a
    /// read racing a write cannot put the replaced document back after the write forgot it.
    writes: AtomicU64,
}

impl<D: Documents> ReadCached<D> {
    pub fn new(inner: D) -> Self {
        Self {
            inner,
            docs: quick_cache::sync::Cache::new(KEPT),
            writes: AtomicU64::new(0),
        }
    }

    fn key(container: &str, pk: &str, id: &str) -> Key {
        (container.to_owned(), pk.to_owned(), id.to_owned())
    }

    /// After a write (done or refused) of the document: forget it.
    fn forget(&self, container: &str, pk: &str, id: Option<&str>) {
        if let Some(id) = id {
            self.docs.remove(&Self::key(container, pk, id));
        }
        self.writes.fetch_add(1, Ordering::AcqRel);
    }
}

fn id_of(value: &Value) -> Option<String> {
    value.get("id").and_then(Value::as_str).map(str::to_owned)
}

#[async_trait]
impl<D: Documents> Documents for ReadCached<D> {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>> {
        let key = Self::key(container, pk, id);
        if let Some(doc) = self.docs.get(&key) {
            return Ok(Some(doc));
        }
        let writes = self.writes.load(Ordering::Acquire);
        let found = self.inner.get(container, pk, id).await?;
        if let Some(doc) = &found
            && doc::ttl_seconds(&doc.value).is_none()
            && self.writes.load(Ordering::Acquire) == writes
        {
            self.docs.insert(key, doc.clone());
        }
        Ok(found)
    }

    async fn create(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        let id = id_of(&value);
        let result = self.inner.create(container, pk, value).await;
        self.forget(container, pk, id.as_deref());
        result
    }

    async fn replace(
        &self,
        container: &str,
        pk: &str,
        value: Value,
        if_match: Option<&str>,
    ) -> StoreResult<Doc> {
        let id = id_of(&value);
        let result = self.inner.replace(container, pk, value, if_match).await;
        self.forget(container, pk, id.as_deref());
        result
    }

    async fn upsert(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        let id = id_of(&value);
        let result = self.inner.upsert(container, pk, value).await;
        self.forget(container, pk, id.as_deref());
        result
    }

    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()> {
        let result = self.inner.delete(container, pk, id).await;
        self.forget(container, pk, Some(id));
        result
    }

    async fn patch(
        &self,
        container: &str,
        pk: &str,
        id: &str,
        ops: &[PatchOp],
        condition: Option<&Filter>,
    ) -> StoreResult<Doc> {
        let result = self.inner.patch(container, pk, id, ops, condition).await;
        self.forget(container, pk, Some(id));
        result
    }

    async fn query(
        &self,
        container: &str,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<Doc>> {
        self.inner.query(container, pk, query, continuation).await
    }

    async fn purge_expired(&self) -> StoreResult<u64> {
        // Only documents with a ttl expire, and none of those is kept.
        self.inner.purge_expired().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}
