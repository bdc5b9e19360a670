//! Cosmos DB for NoSQL through `azure_data_cosmos` 1.x.
//!
//! The client's builder contacts the account, so it is built on first use, not at start-up.
//! Against a local emulator (a loopback endpoint) HTTP/2 and binary encoding are off and the
//! emulator's self-signed certificate is accepted: the SDK relaxes validation for emulator
//! hosts only. With an account key, missing databases and containers are created on first
//! use (infra creates them in Azure, where the identity has data-plane rights only).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::headers::{HeaderName, HeaderValue};
use azure_data_cosmos::feed::ContinuationToken;
use azure_data_cosmos::models::{
    ContainerProperties, PatchInstructions, PatchOperation, TimeToLive,
};
use azure_data_cosmos::options::{
    BinaryEncodingOptions, ConnectionPoolOptions, ContentResponseOnWrite, ItemReadOptions,
    ItemWriteOptions, MaxItemCountHint, OperationOptions, PatchItemOptions, PatchStrategy,
    Precondition, QueryOptions, ServerCertificateValidation,
};
use azure_data_cosmos::{
    AccountEndpoint, AccountReference, ContainerClient, CosmosClient, CosmosError, CosmosRuntime,
    FeedScope, Query as CosmosQuery, RoutingStrategy,
};
use futures::TryStreamExt;
use serde_json::Value;
use tokio::sync::{Mutex, OnceCell};
use tracing::Instrument;

use super::cosmos_query::{cosmos_condition, cosmos_field};
use crate::settings::{CosmosSettings, Settings};
use crate::store::doc::{self, pk_field, spec};
use crate::store::{
    BadInput, Doc, Documents, Filter, Order, Page, PatchOp, Query, StoreError, StoreResult,
};

pub struct CosmosDocuments {
    endpoint: url::Url,
    key: Option<Secret>,
    credential: Option<Arc<dyn TokenCredential>>,
    database: String,
    client: OnceCell<CosmosClient>,
    containers: Mutex<HashMap<String, ContainerClient>>,
}

impl From<CosmosError> for StoreError {
    fn from(e: CosmosError) -> Self {
        let status = e.status();
        crate::telemetry::record_status(u16::from(status.status_code()));
        if status.is_not_found() || u16::from(status.status_code()) == 404 {
            StoreError::NotFound
        } else if status.is_conflict() {
            StoreError::Conflict
        } else if status.is_precondition_failed() {
            StoreError::PreconditionFailed
        } else if status.is_bad_request() {
            // A request we built wrong: the service's text is logged, never answered.
            StoreError::Other(e.into())
        } else if status.is_throttled()
            || status.is_transient()
            || status.is_service_unavailable()
            || status.is_timeout()
        {
            StoreError::Unavailable(e.into())
        } else {
            StoreError::Other(e.into())
        }
    }
}

/// A local emulator: only these hosts get the relaxed TLS and HTTP/1.1 settings.
fn is_emulator(endpoint: &url::Url) -> bool {
    matches!(
        endpoint.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    )
}

/// Writes answer the stored document (with `_etag` and `_ts`), as the trait promises.
fn with_body() -> OperationOptions {
    let mut op = OperationOptions::default();
    op.content_response_on_write = Some(ContentResponseOnWrite::Enabled);
    op
}

fn to_doc(value: Value) -> Doc {
    let etag = value
        .get("_etag")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Doc { value, etag }
}

impl CosmosDocuments {
    /// Keeps the settings; connects on first use.
    pub fn new(cosmos: &CosmosSettings, settings: &Settings) -> anyhow::Result<Self> {
        let credential = match cosmos.key {
            Some(_) => None,
            None => Some(super::credential(settings)?),
        };
        Ok(Self {
            endpoint: cosmos.endpoint.clone(),
            key: cosmos
                .key
                .as_ref()
                .map(|k| Secret::new(k.expose().to_owned())),
            credential,
            database: cosmos.database.clone(),
            client: OnceCell::new(),
            containers: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self) -> StoreResult<&CosmosClient> {
        self.client
            .get_or_try_init(|| async {
                let endpoint: AccountEndpoint = AccountEndpoint::from(self.endpoint.clone());
                let account = match (&self.key, &self.credential) {
                    (Some(key), _) => {
                        AccountReference::with_authentication_key(endpoint, key.clone())
                    }
                    (None, Some(credential)) => {
                        AccountReference::with_credential(endpoint, credential.clone())
                    }
                    (None, None) => unreachable!("a key or a credential is always set"),
                };
                let mut builder = CosmosClient::builder();
                if is_emulator(&self.endpoint) {
                    let pool = ConnectionPoolOptions::builder()
                        .with_is_http2_allowed(false)
                        .with_server_certificate_validation(
                            ServerCertificateValidation::RequiredUnlessEmulator,
                        )
                        .build()?;
                    let runtime = CosmosRuntime::builder()
                        .with_connection_pool(pool)
                        .build()
                        .await?;
                    builder = builder.with_runtime(runtime).with_binary_encoding_options(
                        BinaryEncodingOptions::new().with_enabled(false),
                    );
                }
                builder
                    .build(account, RoutingStrategy::PreferredRegions(vec![]))
                    .await
            })
            .await
            .map_err(StoreError::from)
    }

    /// The container's client, creating database and container first when we hold the key.
    async fn container(&self, name: &str) -> StoreResult<ContainerClient> {
        let spec = spec(name)?;
        let mut containers = self.containers.lock().await;
        if let Some(c) = containers.get(name) {
            return Ok(c.clone());
        }
        let client = self.client().await?;
        if self.key.is_some() {
            match client.create_database(&self.database, None).await {
                Ok(_) => {}
                Err(e) if e.status().is_conflict() => {}
                Err(e) => return Err(e.into()),
            }
            let mut properties =
                ContainerProperties::new(name.to_owned(), spec.partition_key.into());
            if spec.ttl {
                properties = properties.with_default_ttl(TimeToLive::NoDefault);
            }
            match client
                .database_client(&self.database)
                .create_container(properties, None)
                .await
            {
                Ok(_) => {}
                Err(e) if e.status().is_conflict() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let container = client
            .database_client(&self.database)
            .container_client(name, None)
            .await?;
        containers.insert(name.to_owned(), container.clone());
        Ok(container)
    }

    /// Runs one operation inside a dependency span, so Application Insights shows each call
    /// (and its status, recorded where a `CosmosError` is converted) as a Cosmos dependency.
    async fn traced<T>(
        &self,
        operation: &str,
        container: &str,
        call: impl std::future::Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let span = crate::telemetry::dependency(
            "cosmos",
            &format!("{operation} {container}"),
            self.endpoint.host_str().unwrap_or_default(),
        );
        call.instrument(span).await
    }

    async fn read(
        &self,
        container: &ContainerClient,
        pk: &str,
        id: &str,
    ) -> StoreResult<Option<Doc>> {
        match container
            .read_item(pk.to_owned(), id, None::<ItemReadOptions>)
            .await
        {
            Ok(response) => {
                let value: Value = response.into_model()?;
                // The service removes expired items lazily (and emulators never do).
                if doc::is_expired(&value, chrono::Utc::now().timestamp()) {
                    return Ok(None);
                }
                Ok(Some(to_doc(value)))
            }
            Err(e) if e.status().is_not_found() || u16::from(e.status().status_code()) == 404 => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn patch_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// Marks continuation tokens this store handed out.
const TOKEN_PREFIX: &str = "cosmos:";

/// How often a conditional patch re-reads after losing a race before giving up.
const CONDITIONAL_PATCH_ATTEMPTS: usize = 10;

#[async_trait]
impl Documents for CosmosDocuments {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>> {
        self.traced("read", container, async move {
            doc::check_id(id)?;
            let c = self.container(container).await?;
            self.read(&c, pk, id).await
        })
        .await
    }

    async fn create(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        self.traced("create", container, async move {
            let id = doc::check(spec(container)?, pk, &value)?;
            let c = self.container(container).await?;
            let options = ItemWriteOptions::default().with_operation_options(with_body());
            match c
                .create_item(pk.to_owned(), &id, &value, Some(options.clone()))
                .await
            {
                Ok(response) => Ok(to_doc(response.into_model()?)),
                Err(e) if e.status().is_conflict() => {
                    // An expired item the service has not removed yet does not count as taken.
                    let stale = c
                        .read_item(pk.to_owned(), &id, None)
                        .await
                        .ok()
                        .and_then(|r| {
                            r.into_model::<Value>()
                                .ok()
                                .filter(|v| doc::is_expired(v, chrono::Utc::now().timestamp()))
                        });
                    match stale {
                        Some(old) => {
                            let etag = old["_etag"].as_str().unwrap_or_default().to_owned();
                            let options = options.with_precondition(Precondition::if_match(etag));
                            Ok(to_doc(
                                c.replace_item(pk.to_owned(), &id, &value, Some(options))
                                    .await?
                                    .into_model()?,
                            ))
                        }
                        None => Err(StoreError::Conflict),
                    }
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn replace(
        &self,
        container: &str,
        pk: &str,
        value: Value,
        if_match: Option<&str>,
    ) -> StoreResult<Doc> {
        self.traced("replace", container, async move {
            let id = doc::check(spec(container)?, pk, &value)?;
            let c = self.container(container).await?;
            let mut options = ItemWriteOptions::default().with_operation_options(with_body());
            if let Some(etag) = if_match {
                options = options.with_precondition(Precondition::if_match(etag.to_owned()));
            }
            let response = c
                .replace_item(pk.to_owned(), &id, &value, Some(options))
                .await?;
            Ok(to_doc(response.into_model()?))
        })
        .await
    }

    async fn upsert(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        self.traced("upsert", container, async move {
            let id = doc::check(spec(container)?, pk, &value)?;
            let c = self.container(container).await?;
            let options = ItemWriteOptions::default().with_operation_options(with_body());
            let response = c
                .upsert_item(pk.to_owned(), &id, &value, Some(options))
                .await?;
            Ok(to_doc(response.into_model()?))
        })
        .await
    }

    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()> {
        self.traced("delete", container, async move {
            doc::check_id(id)?;
            let c = self.container(container).await?;
            // An expired document is already gone as far as callers can tell.
            if self.read(&c, pk, id).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            c.delete_item(pk.to_owned(), id, None).await?;
            Ok(())
        })
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
        self.traced("patch", container, async move {
            doc::check_id(id)?;
            let c = self.container(container).await?;
            let instructions = || {
                PatchInstructions::from(
                    ops.iter()
                        .map(|op| match op {
                            PatchOp::Set(path, v) => {
                                PatchOperation::set(patch_path(path), v.clone())
                            }
                            PatchOp::Incr(path, by) => {
                                PatchOperation::increment(patch_path(path), *by)
                            }
                            PatchOp::Remove(path) => PatchOperation::remove(patch_path(path)),
                        })
                        .collect::<Vec<_>>(),
                )
            };
            let Some(filter) = condition else {
                // Unconditional: one atomic server-side patch, no read, no contention.
                let options = PatchItemOptions::default()
                    .with_strategy(PatchStrategy::ServerSide)
                    .with_operation_options(with_body());
                let response = c
                    .patch_item(pk.to_owned(), id, instructions(), Some(options))
                    .await?;
                let value: Value = response.into_model()?;
                if doc::is_expired(&value, chrono::Utc::now().timestamp()) {
                    return Err(StoreError::NotFound);
                }
                return Ok(to_doc(value));
            };
            // The SDK's patch takes no filter predicate, so a condition is checked on a read and
            // made to hold at write time with If-Match: a concurrent writer turns our patch into
            // a 412 and we look again. Increments still run server-side.
            for _ in 0..CONDITIONAL_PATCH_ATTEMPTS {
                let current = self.read(&c, pk, id).await?.ok_or(StoreError::NotFound)?;
                if !filter.matches(&current.value) {
                    return Err(StoreError::PreconditionFailed);
                }
                let options = PatchItemOptions::default()
                    .with_strategy(PatchStrategy::ServerSide)
                    .with_precondition(Precondition::if_match(current.etag.clone()))
                    .with_operation_options(with_body());
                match c
                    .patch_item(pk.to_owned(), id, instructions(), Some(options))
                    .await
                {
                    Ok(response) => return Ok(to_doc(response.into_model()?)),
                    Err(e) if e.status().is_precondition_failed() => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "document {id} kept changing under a conditional patch"
            )))
        })
        .await
    }

    async fn query(
        &self,
        container: &str,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<Doc>> {
        self.traced("query", container, async move {
            let spec = spec(container)?;
            crate::store::query::refuse_cross_partition_order(pk, query)?;
            let c = self.container(container).await?;
            let mut params: Vec<(String, Value)> =
                vec![("@now".into(), Value::from(chrono::Utc::now().timestamp()))];
            // Expired items are filtered here too: the service deletes them lazily.
            let mut clauses =
                vec!["(NOT IS_DEFINED(c.ttl) OR c.ttl <= 0 OR c._ts + c.ttl > @now)".to_owned()];
            if let Some(pk) = pk {
                // The scope already limits the partition; the clause keeps emulators honest.
                clauses.push(format!("{} = @pk", cosmos_field(pk_field(spec))?));
                params.push(("@pk".into(), Value::from(pk)));
            }
            clauses.extend(cosmos_condition(&query.filters, &mut params)?);
            let mut sql = format!("SELECT * FROM c WHERE {}", clauses.join(" AND "));
            if let Some((field, order)) = &query.order_by {
                let dir = match order {
                    Order::Asc => "ASC",
                    Order::Desc => "DESC",
                };
                sql.push_str(&format!(" ORDER BY {} {dir}", cosmos_field(field)?));
            }
            let mut cosmos_query = CosmosQuery::from(sql);
            for (name, value) in params {
                cosmos_query = cosmos_query.with_parameter(name, value)?;
            }
            let limit = query.limit.clamp(1, 1000);
            let mut operation = OperationOptions::default();
            if pk.is_none() {
                operation.custom_headers = Some(HashMap::from([(
                    HeaderName::from_static("x-ms-documentdb-query-enablecrosspartition"),
                    HeaderValue::from_static("True"),
                )]));
            }
            let mut options = QueryOptions::default()
                .with_max_item_count(MaxItemCountHint::Limit(
                    NonZeroU32::new(limit).expect("clamped to at least 1"),
                ))
                .with_operation_options(operation);
            if let Some(token) = continuation {
                // Our tokens wrap the SDK's so that a foreign string is refused, not misread.
                let sdk_token = token
                    .strip_prefix(TOKEN_PREFIX)
                    .ok_or_else(|| StoreError::BadInput(BadInput::Cursor))?;
                options = options
                    .with_continuation_token(ContinuationToken::from_string(sdk_token.to_owned()));
            }
            let scope = match pk {
                Some(pk) => FeedScope::partition(pk.to_owned()),
                None => FeedScope::full_container(),
            };
            // A token of ours whose inner SDK token the service refuses was altered by the
            // client: that is the client's bad cursor, not our bug.
            let bad_cursor = |e: CosmosError| match StoreError::from(e) {
                StoreError::Other(_) if continuation.is_some() => {
                    StoreError::BadInput(BadInput::Cursor)
                }
                other => other,
            };
            let mut pages = c
                .query_items::<Value>(cosmos_query, scope, Some(options))
                .await
                .map_err(bad_cursor)?
                .into_pages();
            let Some(page) = pages.try_next().await.map_err(bad_cursor)? else {
                return Ok(Page {
                    items: vec![],
                    continuation: None,
                });
            };
            let items: Vec<Doc> = page.into_items().into_iter().map(to_doc).collect();
            // The SDK does not say whether another page exists; a full page may have one.
            let continuation = if items.len() as u32 >= limit {
                Some(format!(
                    "{TOKEN_PREFIX}{}",
                    pages.to_continuation_token()?.as_str()
                ))
            } else {
                None
            };
            Ok(Page {
                items,
                continuation,
            })
        })
        .await
    }

    async fn purge_expired(&self) -> StoreResult<u64> {
        // Cosmos DB removes items past their TTL itself.
        Ok(0)
    }

    /// The account answers and every container exists. With the key a missing one is made
    /// again (an emulator restarted empty); without it, it is named: infra must make it.
    async fn ping(&self) -> StoreResult<()> {
        self.traced("ping", "account", async move {
            let client = self.client().await?;
            let database = client.database_client(&self.database);
            let reads = crate::store::schema::CONTAINERS.iter().map(|spec| {
                let database = &database;
                async move {
                    let read = match database.container_client(spec.name, None).await {
                        Ok(container) => container.read(None).await.map(|_| ()),
                        Err(e) => Err(e),
                    };
                    match read.map_err(StoreError::from) {
                        Err(StoreError::NotFound) => Some(spec.name),
                        _ => None,
                    }
                }
            });
            let missing: Vec<&str> = futures::future::join_all(reads)
                .await
                .into_iter()
                .flatten()
                .collect();
            let Some(first) = missing.first() else {
                // Every container read found it (or failed for another reason, which the
                // database read below reports).
                database.read(None).await?;
                return Ok(());
            };
            if self.key.is_none() {
                return Err(StoreError::Missing(format!("container {first}")));
            }
            for name in &missing {
                self.containers.lock().await.remove(*name);
                self.container(name).await?;
            }
            Ok(())
        })
        .await
    }
}
