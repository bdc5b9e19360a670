//! Storage: small async traits over documents, blobs, queues, secrets and cache, each with an
//! Azure implementation (`azure/`) and an embedded twin (`embedded/`) so that a bare machine
//! runs the same code (DESIGN.md section 3).

pub mod azure;
mod collection;
mod doc;
pub mod embedded;
mod guard;
mod guarded;
mod prefixed;
mod query;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use collection::{Change, Collection, Document, Versioned};
pub use guard::{Breaker, BreakerPolicy, BreakerState};
pub use guarded::Deadlines;
pub use prefixed::PrefixedCache;
pub use query::{Cmp, Filter, Order, Query};

/// Whether `id` is usable as a document id on every backend (for ids that come from clients).
pub fn doc_id_ok(id: &str) -> StoreResult<()> {
    doc::check_id(id)
}

use crate::settings::Settings;

/// What every storage operation can fail with; the HTTP layer maps each kind to a status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Create of an id that exists (HTTP 409 from the service).
    #[error("already exists")]
    Conflict,
    /// ETag or patch condition did not hold (HTTP 412 from the service).
    #[error("precondition failed")]
    PreconditionFailed,
    /// The client's input cannot be used: answered 400 in our own words, never the backend's.
    #[error("bad input: {0:?}")]
    BadInput(BadInput),
    /// A read-modify-write of a document in this container lost the race too many times.
    #[error("{0}: too many concurrent changes")]
    Contended(&'static str),
    /// A container or queue this app needs does not exist (readiness names it); answered 503.
    #[error("{0} does not exist")]
    Missing(String),
    /// The backend could not be reached or is throttling; worth retrying.
    #[error("backend unavailable: {0}")]
    Unavailable(anyhow::Error),
    #[error(transparent)]
    Other(anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which client input a store refused. Anything else a store refuses is a bug of ours (a bad
/// container or field name), reported as `Other` and logged, since a backend's own message can
/// carry query text or SDK details a client should never see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadInput {
    /// A continuation token this API did not issue.
    Cursor,
    /// An id no backend accepts (empty, too long, or with `/ \ ? #`).
    Id,
    /// A blob name that could escape its container.
    BlobName,
    /// A block id that is not base64 of 1 to 64 bytes.
    BlockId,
    /// A block list naming a block that is not staged, or too many blocks.
    BlockList,
    /// A blob larger than its upload allows.
    TooLarge,
}

impl BadInput {
    pub fn message(self) -> &'static str {
        match self {
            BadInput::Cursor => "The cursor is not one this API issued.",
            BadInput::Id => "The id is not a valid identifier.",
            BadInput::BlobName => "The blob name is not valid.",
            BadInput::BlockId => "The block id is not base64 of 1 to 64 bytes.",
            BadInput::BlockList => "The block list names a block that is not staged, or too many.",
            BadInput::TooLarge => "The blob is larger than this upload allows.",
        }
    }
}

impl StoreError {
    /// A request the code itself got wrong (an unknown container, a bad field path).
    pub fn bug(what: impl Into<String>) -> Self {
        StoreError::Other(anyhow::anyhow!(what.into()))
    }
}

/// One stored document with its concurrency token.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// The document as stored, system properties (`_etag`, `_ts`) included.
    pub value: Value,
    pub etag: String,
}

impl Doc {
    pub fn id(&self) -> &str {
        self.value.get("id").and_then(Value::as_str).unwrap_or("")
    }
}

/// A page of results and the opaque token that continues after it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub continuation: Option<String>,
}

/// One operation of a partial update (Cosmos DB patch semantics).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    /// Sets a top-level or nested field (`/a/b`), creating it if absent.
    Set(String, Value),
    /// Adds `by` to a number field, creating it at `by` if absent.
    Incr(String, i64),
    /// Removes a field.
    Remove(String),
}

/// Documents: containers partitioned by a key, as in Cosmos DB. Every document has a string
/// `id`; an optional integer `ttl` (seconds after its last write) makes it expire, and expired
/// documents are never returned, whether or not the backend has removed them yet.
#[async_trait]
pub trait Documents: Send + Sync {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>>;
    /// Fails with `Conflict` when the id exists in the partition.
    async fn create(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc>;
    /// Replaces an existing document; with `if_match`, only if its ETag is still that.
    async fn replace(
        &self,
        container: &str,
        pk: &str,
        doc: Value,
        if_match: Option<&str>,
    ) -> StoreResult<Doc>;
    async fn upsert(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc>;
    /// Fails with `NotFound` when there is nothing to delete.
    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()>;
    /// Applies `ops` atomically; with `condition`, only if the document matches it (else
    /// `PreconditionFailed`), which is how counters stay below a maximum.
    async fn patch(
        &self,
        container: &str,
        pk: &str,
        id: &str,
        ops: &[PatchOp],
        condition: Option<&Filter>,
    ) -> StoreResult<Doc>;
    /// A query inside one partition (`Some(pk)`), or across all of them (`None`, for admin
    /// lists and jobs). `continuation` is the token of the previous page. Ordering is for
    /// queries inside one partition: a cross-partition ORDER BY needs the service's query plan,
    /// which the emulators lack, so both backends refuse it (`Invalid`) rather than differ.
    async fn query(
        &self,
        container: &str,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<Doc>>;
    /// Removes documents whose TTL has passed, for backends that do not expire them
    /// themselves. Returns how many went. Cosmos DB expires items on its own: 0.
    async fn purge_expired(&self) -> StoreResult<u64>;
    /// Reachability, for `/api/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlobProps {
    pub size: u64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub metadata: Vec<(String, String)>,
    /// Fail with `Conflict` instead of overwriting an existing blob.
    pub if_not_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlobItem {
    pub name: String,
    pub props: BlobProps,
}

/// What a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SasAccess {
    Read,
    /// Create the one blob, never overwrite it (the upload flow): once `complete` has checked
    /// the bytes, the upload URL cannot swap them (Azure SAS permission `c` alone).
    Create,
    /// Write the one staging blob of a block upload, whole or in blocks, and read it and its
    /// block list (Azure `rw`, which Put Block and Get Block List need). A staging blob is
    /// never served: `complete` first copies it where no signed URL can write ([`Blobs::promote`]),
    /// then checks the copy.
    Stage,
}

/// Response headers a read URL makes the service answer with (SAS `rsct` and `rscd`), so a
/// download is served as what the API recorded, whatever the uploader sent as its type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadHeaders {
    pub content_type: Option<String>,
    pub content_disposition: Option<String>,
}

#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put(
        &self,
        container: &str,
        name: &str,
        data: Bytes,
        options: PutOptions,
    ) -> StoreResult<BlobProps>;
    async fn get(&self, container: &str, name: &str) -> StoreResult<Option<(Bytes, BlobProps)>>;
    async fn head(&self, container: &str, name: &str) -> StoreResult<Option<BlobProps>>;
    /// Up to `len` bytes from the start of the blob (for sniffing a type without a download).
    async fn read_prefix(
        &self,
        container: &str,
        name: &str,
        len: u64,
    ) -> StoreResult<Option<Bytes>>;
    /// Returns whether there was a blob to delete.
    async fn delete(&self, container: &str, name: &str) -> StoreResult<bool>;
    /// Copies `from` to `to`, which must not exist yet (`Conflict` when it does), then removes
    /// `from`; `NotFound` when `from` has no committed content.
    async fn promote(&self, container: &str, from: &str, to: &str) -> StoreResult<BlobProps>;
    /// Removes a blob with its uncommitted blocks (an abandoned or refused block upload).
    async fn discard(&self, container: &str, name: &str) -> StoreResult<()>;
    async fn list(
        &self,
        container: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: u32,
    ) -> StoreResult<Page<BlobItem>>;
    /// A URL a plain HTTP client can use without other credentials until `expires`; reads
    /// answer with `headers` where set.
    async fn signed_url(
        &self,
        container: &str,
        name: &str,
        access: SasAccess,
        expires: DateTime<Utc>,
        headers: &ReadHeaders,
    ) -> StoreResult<url::Url>;
    async fn ping(&self) -> StoreResult<()>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueMessage {
    pub id: String,
    pub pop_receipt: String,
    pub body: String,
    /// 1 on the first delivery.
    pub dequeue_count: u32,
    pub inserted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub next_visible_at: DateTime<Utc>,
}

#[async_trait]
pub trait Queues: Send + Sync {
    /// Enqueues `body`, invisible for `delay`.
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<()>;
    /// Takes up to `max` visible messages and hides them for `visibility`.
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>>;
    /// Removes a received message; `NotFound` when the pop receipt is stale.
    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> StoreResult<()>;
    /// Makes a received message visible again after `delay` (a failed attempt), keeping its
    /// dequeue count; `NotFound` when the pop receipt is stale.
    async fn release(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        delay: Duration,
    ) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretVersion {
    pub version: String,
    pub value: String,
    pub created: DateTime<Utc>,
}

#[async_trait]
pub trait Secrets: Send + Sync {
    /// Every enabled version, newest first; empty when the secret does not exist.
    async fn versions(&self, name: &str) -> StoreResult<Vec<SecretVersion>>;
    /// Adds a new current version.
    async fn set(&self, name: &str, value: &str) -> StoreResult<SecretVersion>;
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> StoreResult<Option<String>>;
    /// Several keys in one round trip (Redis `MGET`), in the order asked.
    async fn get_many(&self, keys: &[&str]) -> StoreResult<Vec<Option<String>>>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()>;
    /// Sets only if absent; returns whether it was set (locks, idempotency keys).
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool>;
    async fn del(&self, key: &str) -> StoreResult<()>;
    async fn exists(&self, key: &str) -> StoreResult<bool>;
    /// Adds `by` and returns the new value; the TTL starts when the key is created, so a
    /// counter is a fixed window. A zero TTL means the counter never expires.
    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> StoreResult<i64>;
    /// Remaining lifetime, `None` when the key does not exist or never expires.
    async fn ttl(&self, key: &str) -> StoreResult<Option<Duration>>;
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()>;
    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()>;
    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>>;
    /// Drops expired entries held in memory; a no-op where the server expires them.
    async fn purge_expired(&self) -> StoreResult<u64>;
    async fn ping(&self) -> StoreResult<()>;
}

/// Which implementation backs a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Embedded,
    Azure,
}

/// Every backing store, chosen once from settings and shared.
#[derive(Clone)]
pub struct Stores {
    pub documents: Arc<dyn Documents>,
    pub blobs: Arc<dyn Blobs>,
    pub queues: Arc<dyn Queues>,
    pub secrets: Arc<dyn Secrets>,
    pub cache: Arc<dyn Cache>,
    pub backends: Backends,
    /// The circuit breakers of the Azure backends, for `/api/readyz`.
    pub breakers: Arc<Vec<Arc<Breaker>>>,
    details: Arc<BTreeMap<&'static str, String>>,
}

#[derive(Debug, Clone, Copy)]
pub struct Backends {
    pub documents: Backend,
    pub blobs: Backend,
    pub queues: Backend,
    pub secrets: Backend,
    pub cache: Backend,
}

impl Backends {
    pub fn all(&self) -> [(&'static str, Backend); 5] {
        [
            ("documents", self.documents),
            ("blobs", self.blobs),
            ("queues", self.queues),
            ("secrets", self.secrets),
            ("cache", self.cache),
        ]
    }
}

impl Stores {
    /// Builds every client from settings. Makes no network call: Azure clients connect on
    /// first use. Also returns the embedded blob store when blobs are local, since it serves
    /// its own signed URLs.
    pub fn from_settings(
        settings: &Settings,
    ) -> anyhow::Result<(Self, Option<Arc<embedded::FolderBlobs>>)> {
        let uses_embedded = settings.cosmos.is_none()
            || settings.storage.is_none()
            || settings.key_vault_uri.is_none()
            || settings.redis_url.is_none();
        let embedded = if uses_embedded {
            let base = settings
                .public_base_url
                .clone()
                .unwrap_or_else(|| url::Url::parse("http://127.0.0.1:7071").expect("valid"));
            Some(embedded::EmbeddedStores::open(&settings.data_dir, &base)?)
        } else {
            None
        };
        let local = |what: &str| format!("embedded ({what} under {})", settings.data_dir.display());
        let mut details = BTreeMap::new();
        let e = || {
            embedded
                .as_ref()
                .expect("opened when any store is embedded")
        };

        let mut breakers = Vec::new();
        let deadlines = settings.deadlines;
        let mut breaker = |dependency: &'static str| {
            let b = Arc::new(Breaker::new(dependency, settings.breaker));
            breakers.push(b.clone());
            b
        };
        let (documents, documents_backend): (Arc<dyn Documents>, _) = match &settings.cosmos {
            Some(cosmos) => {
                details.insert(
                    "documents",
                    format!(
                        "Azure Cosmos DB at {}, database {}",
                        cosmos.endpoint, cosmos.database
                    ),
                );
                let inner = Arc::new(azure::cosmos::CosmosDocuments::new(cosmos, settings)?);
                let guarded = guarded::GuardedDocuments {
                    inner,
                    breaker: breaker("documents"),
                    deadlines,
                };
                (Arc::new(guarded) as Arc<dyn Documents>, Backend::Azure)
            }
            None => {
                details.insert("documents", local("SQLite store.sqlite"));
                (
                    e().documents.clone() as Arc<dyn Documents>,
                    Backend::Embedded,
                )
            }
        };
        let (blobs, queues, storage_backend, dev_blobs): (Arc<dyn Blobs>, Arc<dyn Queues>, _, _) =
            match &settings.storage {
                Some(storage) => {
                    let (blob, queue) = storage.endpoints();
                    details.insert("blobs", format!("Azure Blob Storage at {blob}"));
                    details.insert("queues", format!("Azure Queue Storage at {queue}"));
                    let blobs = guarded::GuardedBlobs {
                        inner: Arc::new(azure::blob::AzureBlobs::new(storage, settings)?),
                        breaker: breaker("blobs"),
                        deadlines,
                    };
                    let queues = guarded::GuardedQueues {
                        inner: Arc::new(azure::queue::AzureQueues::new(storage, settings)?),
                        breaker: breaker("queues"),
                        deadlines,
                    };
                    (
                        Arc::new(blobs) as Arc<dyn Blobs>,
                        Arc::new(queues) as Arc<dyn Queues>,
                        Backend::Azure,
                        None,
                    )
                }
                None => {
                    details.insert("blobs", local("folder blobs/"));
                    details.insert("queues", local("SQLite store.sqlite"));
                    (
                        e().blobs.clone() as Arc<dyn Blobs>,
                        e().queues.clone() as Arc<dyn Queues>,
                        Backend::Embedded,
                        Some(e().blobs.clone()),
                    )
                }
            };
        let (secrets, secrets_backend): (Arc<dyn Secrets>, _) = match &settings.key_vault_uri {
            Some(uri) => {
                details.insert("secrets", format!("Azure Key Vault at {uri}"));
                let guarded = guarded::GuardedSecrets {
                    inner: Arc::new(azure::keyvault::KeyVaultSecrets::new(
                        uri,
                        azure::credential(settings)?,
                        None,
                    )?),
                    breaker: breaker("secrets"),
                    deadlines,
                };
                (Arc::new(guarded) as Arc<dyn Secrets>, Backend::Azure)
            }
            None => {
                details.insert("secrets", local("key file secrets.json"));
                (e().secrets.clone() as Arc<dyn Secrets>, Backend::Embedded)
            }
        };
        let (cache, cache_backend): (Arc<dyn Cache>, _) = match &settings.redis_url {
            Some(url) => {
                let redis = Arc::new(guarded::GuardedCache {
                    inner: Arc::new(azure::redis::RedisCache::new(
                        url.expose(),
                        deadlines.cache,
                    )?),
                    breaker: breaker("cache"),
                    deadlines,
                }) as Arc<dyn Cache>;
                let cache = match &settings.cache_key_prefix {
                    Some(prefix) => {
                        details.insert("cache", format!("Redis (REDIS_URL), keys under {prefix}:"));
                        Arc::new(PrefixedCache::new(prefix, redis)) as Arc<dyn Cache>
                    }
                    None => {
                        details.insert("cache", "Redis (REDIS_URL)".to_owned());
                        redis
                    }
                };
                (cache, Backend::Azure)
            }
            None => {
                details.insert("cache", "embedded (in-process memory)".to_owned());
                (e().cache.clone() as Arc<dyn Cache>, Backend::Embedded)
            }
        };

        let stores = Stores {
            documents,
            blobs,
            queues,
            secrets,
            cache,
            backends: Backends {
                documents: documents_backend,
                blobs: storage_backend,
                queues: storage_backend,
                secrets: secrets_backend,
                cache: cache_backend,
            },
            breakers: Arc::new(breakers),
            details: Arc::new(details),
        };
        Ok((stores, dev_blobs))
    }

    /// The typed collection of documents of type `T`.
    pub fn collection<T: Document>(&self) -> Collection<T> {
        Collection::new(self.documents.clone())
    }

    /// One line saying where a dependency's data lives (never a secret).
    pub fn describe(&self, dependency: &str) -> &str {
        self.details
            .get(dependency)
            .map(String::as_str)
            .unwrap_or("")
    }
}
