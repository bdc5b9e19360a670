//! The store traits wrapped in a deadline and a circuit breaker each (see `guard.rs`). Only the
//! Azure backends are wrapped: the embedded ones live in this process.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::guard::Breaker;
use super::{
    BlobItem, BlobProps, Blobs, Cache, Doc, Documents, Filter, Page, PatchOp, PutOptions, Query,
    QueueMessage, Queues, ReadHeaders, SasAccess, SecretVersion, Secrets, StoreResult,
};

/// How long one call to a dependency may take before it counts as unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// One Redis command.
    pub cache: Duration,
    /// A document point read or write.
    pub document: Duration,
    /// A document query page.
    pub query: Duration,
    /// Blob and queue metadata calls (head, delete, list, send...); whole-blob reads and
    /// writes carry data and get `transfer`.
    pub storage: Duration,
    pub transfer: Duration,
    pub secrets: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            cache: Duration::from_millis(250),
            document: Duration::from_secs(2),
            query: Duration::from_secs(5),
            storage: Duration::from_secs(2),
            transfer: Duration::from_secs(30),
            secrets: Duration::from_secs(2),
        }
    }
}

pub struct GuardedDocuments {
    pub inner: Arc<dyn Documents>,
    pub breaker: Arc<Breaker>,
    pub deadlines: Deadlines,
}

#[async_trait]
impl Documents for GuardedDocuments {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>> {
        let d = Some(self.deadlines.document);
        self.breaker.run(d, self.inner.get(container, pk, id)).await
    }
    async fn create(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc> {
        let d = Some(self.deadlines.document);
        self.breaker
            .run(d, self.inner.create(container, pk, doc))
            .await
    }
    async fn replace(
        &self,
        container: &str,
        pk: &str,
        doc: Value,
        if_match: Option<&str>,
    ) -> StoreResult<Doc> {
        let d = Some(self.deadlines.document);
        self.breaker
            .run(d, self.inner.replace(container, pk, doc, if_match))
            .await
    }
    async fn upsert(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc> {
        let d = Some(self.deadlines.document);
        self.breaker
            .run(d, self.inner.upsert(container, pk, doc))
            .await
    }
    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()> {
        let d = Some(self.deadlines.document);
        self.breaker
            .run(d, self.inner.delete(container, pk, id))
            .await
    }
    async fn patch(
        &self,
        container: &str,
        pk: &str,
        id: &str,
        ops: &[PatchOp],
        condition: Option<&Filter>,
    ) -> StoreResult<Doc> {
        let d = Some(self.deadlines.document);
        self.breaker
            .run(d, self.inner.patch(container, pk, id, ops, condition))
            .await
    }
    async fn query(
        &self,
        container: &str,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<Doc>> {
        let d = Some(self.deadlines.query);
        self.breaker
            .run(d, self.inner.query(container, pk, query, continuation))
            .await
    }
    async fn purge_expired(&self) -> StoreResult<u64> {
        self.breaker.run(None, self.inner.purge_expired()).await
    }
    async fn ping(&self) -> StoreResult<()> {
        let d = Some(self.deadlines.document);
        self.breaker.run(d, self.inner.ping()).await
    }
}

pub struct GuardedBlobs {
    pub inner: Arc<dyn Blobs>,
    pub breaker: Arc<Breaker>,
    pub deadlines: Deadlines,
}

#[async_trait]
impl Blobs for GuardedBlobs {
    async fn put(
        &self,
        container: &str,
        name: &str,
        data: Bytes,
        options: PutOptions,
    ) -> StoreResult<BlobProps> {
        let d = Some(self.deadlines.transfer);
        self.breaker
            .run(d, self.inner.put(container, name, data, options))
            .await
    }
    async fn get(&self, container: &str, name: &str) -> StoreResult<Option<(Bytes, BlobProps)>> {
        let d = Some(self.deadlines.transfer);
        self.breaker.run(d, self.inner.get(container, name)).await
    }
    async fn head(&self, container: &str, name: &str) -> StoreResult<Option<BlobProps>> {
        let d = Some(self.deadlines.storage);
        self.breaker.run(d, self.inner.head(container, name)).await
    }
    async fn read_prefix(
        &self,
        container: &str,
        name: &str,
        len: u64,
    ) -> StoreResult<Option<Bytes>> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.read_prefix(container, name, len))
            .await
    }
    async fn delete(&self, container: &str, name: &str) -> StoreResult<bool> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.delete(container, name))
            .await
    }
    async fn promote(&self, container: &str, from: &str, to: &str) -> StoreResult<BlobProps> {
        // A server-side copy of up to 500 MB: a transfer, not a metadata call.
        let d = Some(self.deadlines.transfer);
        self.breaker
            .run(d, self.inner.promote(container, from, to))
            .await
    }
    async fn discard(&self, container: &str, name: &str) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.discard(container, name))
            .await
    }
    async fn list(
        &self,
        container: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: u32,
    ) -> StoreResult<Page<BlobItem>> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.list(container, prefix, continuation, max))
            .await
    }
    async fn signed_url(
        &self,
        container: &str,
        name: &str,
        access: SasAccess,
        expires: DateTime<Utc>,
        headers: &ReadHeaders,
    ) -> StoreResult<url::Url> {
        // A user-delegation SAS needs a key from the service (cached for hours).
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(
                d,
                self.inner
                    .signed_url(container, name, access, expires, headers),
            )
            .await
    }
    async fn ping(&self) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker.run(d, self.inner.ping()).await
    }
}

pub struct GuardedQueues {
    pub inner: Arc<dyn Queues>,
    pub breaker: Arc<Breaker>,
    pub deadlines: Deadlines,
}

#[async_trait]
impl Queues for GuardedQueues {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.send(queue, body, delay))
            .await
    }
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.receive(queue, max, visibility))
            .await
    }
    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.delete(queue, id, pop_receipt))
            .await
    }
    async fn release(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        delay: Duration,
    ) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker
            .run(d, self.inner.release(queue, id, pop_receipt, delay))
            .await
    }
    async fn ping(&self) -> StoreResult<()> {
        let d = Some(self.deadlines.storage);
        self.breaker.run(d, self.inner.ping()).await
    }
}

pub struct GuardedSecrets {
    pub inner: Arc<dyn Secrets>,
    pub breaker: Arc<Breaker>,
    pub deadlines: Deadlines,
}

#[async_trait]
impl Secrets for GuardedSecrets {
    async fn versions(&self, name: &str) -> StoreResult<Vec<SecretVersion>> {
        let d = Some(self.deadlines.secrets);
        self.breaker.run(d, self.inner.versions(name)).await
    }
    async fn set(&self, name: &str, value: &str) -> StoreResult<SecretVersion> {
        let d = Some(self.deadlines.secrets);
        self.breaker.run(d, self.inner.set(name, value)).await
    }
    async fn ping(&self) -> StoreResult<()> {
        let d = Some(self.deadlines.secrets);
        self.breaker.run(d, self.inner.ping()).await
    }
}

pub struct GuardedCache {
    pub inner: Arc<dyn Cache>,
    pub breaker: Arc<Breaker>,
    pub deadlines: Deadlines,
}

#[async_trait]
impl Cache for GuardedCache {
    async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.get(key)).await
    }
    async fn get_many(&self, keys: &[&str]) -> StoreResult<Vec<Option<String>>> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.get_many(keys)).await
    }
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.set(key, value, ttl)).await
    }
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        let d = Some(self.deadlines.cache);
        self.breaker
            .run(d, self.inner.set_nx(key, value, ttl))
            .await
    }
    async fn del(&self, key: &str) -> StoreResult<()> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.del(key)).await
    }
    async fn exists(&self, key: &str) -> StoreResult<bool> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.exists(key)).await
    }
    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> StoreResult<i64> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.incr(key, by, ttl)).await
    }
    async fn ttl(&self, key: &str) -> StoreResult<Option<Duration>> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.ttl(key)).await
    }
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let d = Some(self.deadlines.cache);
        self.breaker
            .run(d, self.inner.set_add(key, member, ttl))
            .await
    }
    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        let d = Some(self.deadlines.cache);
        self.breaker
            .run(d, self.inner.set_remove(key, member))
            .await
    }
    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.set_members(key)).await
    }
    async fn purge_expired(&self) -> StoreResult<u64> {
        self.breaker.run(None, self.inner.purge_expired()).await
    }
    async fn ping(&self) -> StoreResult<()> {
        let d = Some(self.deadlines.cache);
        self.breaker.run(d, self.inner.ping()).await
    }
}
