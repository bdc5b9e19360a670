//! Typed document collections: the only way domain code reads and writes documents.
//!
//! A [`Document`] names its container (from `schema.rs`) and its partition key; a
//! [`Collection<T>`] turns the untyped [`Documents`] trait into typed calls, and owns the one
//! read / change / If-Match / retry-on-412 loop ([`Collection::update_with`]) that every
//! read-modify-write goes through.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::schema::ContainerSpec;
use super::{Doc, Documents, Filter, Page, PatchOp, Query, StoreError, StoreResult};

/// How many times a read-modify-write is tried before it gives up with `Contended`.
const UPDATE_ATTEMPTS: usize = 8;

/// A document type stored in one container.
pub trait Document: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The container, from `schema.rs`.
    const CONTAINER: &'static ContainerSpec;
    fn id(&self) -> &str;
    /// The value of the container's partition key field in this document.
    fn partition_key(&self) -> &str;
}

/// Implements [`Document`] for a struct with a `String` id and partition key field:
/// `document!(UserDoc, USERS, id)`.
#[macro_export]
macro_rules! document {
    ($ty:ty, $container:ident, $pk:ident) => {
        impl $crate::store::Document for $ty {
            const CONTAINER: &'static $crate::store::schema::ContainerSpec =
                &$crate::store::schema::$container;
            fn id(&self) -> &str {
                &self.id
            }
            fn partition_key(&self) -> &str {
                &self.$pk
            }
        }
    };
}

/// A document as read, with the ETag a conditional write needs.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub doc: T,
    pub etag: String,
}

/// What a change given to [`Collection::update_with`] decided.
#[derive(Debug)]
pub enum Change<R> {
    /// Write the changed document (conditionally on the ETag it was read with), then answer.
    Write(R),
    /// Leave the stored document as it is and answer (nothing to change).
    Keep(R),
    /// Read the document again and call the change again without writing (another request is
    /// about to finish something this one waits for).
    Retry,
}

/// The typed view of one container.
pub struct Collection<T> {
    docs: Arc<dyn Documents>,
    _doc: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        Self {
            docs: self.docs.clone(),
            _doc: PhantomData,
        }
    }
}

fn decode<T: Document>(doc: Doc) -> StoreResult<Versioned<T>> {
    let id = doc.id().to_owned();
    let value = serde_json::from_value(doc.value).map_err(|e| {
        StoreError::Other(anyhow::anyhow!(
            "document {id} in {} does not parse: {e}",
            T::CONTAINER.name
        ))
    })?;
    Ok(Versioned {
        doc: value,
        etag: doc.etag,
    })
}

fn encode<T: Document>(doc: &T) -> StoreResult<Value> {
    serde_json::to_value(doc).map_err(|e| StoreError::Other(e.into()))
}

impl<T: Document> Collection<T> {
    pub fn new(docs: Arc<dyn Documents>) -> Self {
        Self {
            docs,
            _doc: PhantomData,
        }
    }

    fn name(&self) -> &'static str {
        T::CONTAINER.name
    }

    pub async fn get(&self, pk: &str, id: &str) -> StoreResult<Option<T>> {
        Ok(self.get_versioned(pk, id).await?.map(|v| v.doc))
    }

    /// The document with its ETag. An id no backend accepts is simply not there: ids often
    /// come from clients.
    pub async fn get_versioned(&self, pk: &str, id: &str) -> StoreResult<Option<Versioned<T>>> {
        if super::doc_id_ok(id).is_err() || pk.is_empty() {
            return Ok(None);
        }
        match self.docs.get(self.name(), pk, id).await? {
            Some(doc) => Ok(Some(decode(doc)?)),
            None => Ok(None),
        }
    }

    /// Fails with `Conflict` when the id exists in the partition.
    pub async fn create(&self, doc: &T) -> StoreResult<String> {
        let stored = self
            .docs
            .create(self.name(), doc.partition_key(), encode(doc)?)
            .await?;
        Ok(stored.etag)
    }

    /// Creates the document; `Ok(false)` when one with its id already exists.
    pub async fn create_if_absent(&self, doc: &T) -> StoreResult<bool> {
        match self.create(doc).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replaces an existing document; with `if_match`, only if its ETag is still that.
    pub async fn replace(&self, doc: &T, if_match: Option<&str>) -> StoreResult<String> {
        let stored = self
            .docs
            .replace(self.name(), doc.partition_key(), encode(doc)?, if_match)
            .await?;
        Ok(stored.etag)
    }

    pub async fn upsert(&self, doc: &T) -> StoreResult<String> {
        let stored = self
            .docs
            .upsert(self.name(), doc.partition_key(), encode(doc)?)
            .await?;
        Ok(stored.etag)
    }

    /// Fails with `NotFound` when there is nothing to delete.
    pub async fn delete(&self, pk: &str, id: &str) -> StoreResult<()> {
        self.docs.delete(self.name(), pk, id).await
    }

    /// Deletes the document if it exists; returns whether it did.
    pub async fn remove(&self, pk: &str, id: &str) -> StoreResult<bool> {
        match self.docs.delete(self.name(), pk, id).await {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies `ops` atomically, only where `condition` holds (else `PreconditionFailed`).
    pub async fn patch(
        &self,
        pk: &str,
        id: &str,
        ops: &[PatchOp],
        condition: Option<&Filter>,
    ) -> StoreResult<T> {
        let doc = self.docs.patch(self.name(), pk, id, ops, condition).await?;
        Ok(decode(doc)?.doc)
    }

    /// One page of a query inside a partition (`Some(pk)`) or across all (`None`).
    pub async fn query(
        &self,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<T>> {
        let page = self
            .docs
            .query(self.name(), pk, query, continuation)
            .await?;
        let items = page
            .items
            .into_iter()
            .map(|doc| decode(doc).map(|v| v.doc))
            .collect::<StoreResult<_>>()?;
        Ok(Page {
            items,
            continuation: page.continuation,
        })
    }

    /// Every page of a query, for lists known to be small (a user's sessions, a form's audit).
    pub async fn query_all(&self, pk: Option<&str>, query: &Query) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page = self.query(pk, query, continuation.as_deref()).await?;
            out.extend(page.items);
            match page.continuation {
                Some(next) => continuation = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// Read, change, write with If-Match, and on a lost race (412) start again from a fresh
    /// read. `change` may refuse (its error is returned as it is), keep the document as it is,
    /// or ask to look again. `Ok(None)` when the document does not exist; `Contended` after
    /// too many lost races.
    pub async fn update_with<R, E>(
        &self,
        pk: &str,
        id: &str,
        mut change: impl FnMut(&mut T) -> Result<Change<R>, E>,
    ) -> Result<Option<(T, R)>, E>
    where
        E: From<StoreError>,
    {
        self.update_with_async(pk, id, |mut doc| {
            let decided = change(&mut doc).map(|c| (doc, c));
            std::future::ready(decided)
        })
        .await
    }

    /// [`Collection::update_with`] for a change that has to await something (a cache read).
    /// The change takes the document and hands it back, so its future borrows nothing.
    pub async fn update_with_async<R, E, F, Fut>(
        &self,
        pk: &str,
        id: &str,
        mut change: F,
    ) -> Result<Option<(T, R)>, E>
    where
        E: From<StoreError>,
        F: FnMut(T) -> Fut,
        Fut: Future<Output = Result<(T, Change<R>), E>>,
    {
        for attempt in 0..UPDATE_ATTEMPTS {
            let Some(Versioned { doc, etag }) = self.get_versioned(pk, id).await? else {
                return Ok(None);
            };
            let (doc, decided) = change(doc).await?;
            let answer = match decided {
                Change::Keep(answer) => return Ok(Some((doc, answer))),
                Change::Retry => continue,
                Change::Write(answer) => answer,
            };
            match self.replace(&doc, Some(&etag)).await {
                Ok(_) => return Ok(Some((doc, answer))),
                Err(StoreError::PreconditionFailed) => {
                    // Losers of one race would meet again at once: spread their next tries
                    // (full jitter, doubling up to about 25 ms).
                    let cap = 1u64 << attempt.min(5);
                    let micros = rand::random_range(0..cap * 800);
                    tokio::time::sleep(std::time::Duration::from_micros(micros)).await;
                    continue;
                }
                // Deleted between the read and the write.
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Contended(self.name()).into())
    }
}
