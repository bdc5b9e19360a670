//! Documents in SQLite: one row per document, the body as JSON text, queried with JSON1.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde_json::Value;

use super::sqlite::{Sqlite, one_row};
use super::sqlite_query::{sqlite_condition, sqlite_path};
use crate::store::doc::{self, spec};
use crate::store::{
    BadInput, Doc, Documents, Filter, Order, Page, PatchOp, Query, StoreError, StoreResult,
};

pub struct SqliteDocuments {
    db: Sqlite,
}

impl SqliteDocuments {
    pub fn new(db: Sqlite) -> Self {
        Self { db }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

const LIVE: &str = "(expires_at IS NULL OR expires_at > ?)";

/// Stamps system properties the way Cosmos DB does and returns (body, etag, expires_at).
fn stamp(mut value: Value) -> (Value, String, Option<i64>) {
    let ts = now();
    let etag = format!("\"{}\"", uuid::Uuid::new_v4());
    let expires_at = doc::ttl_seconds(&value).map(|ttl| ts + ttl);
    if let Some(obj) = value.as_object_mut() {
        obj.insert("_etag".into(), Value::from(etag.clone()));
        obj.insert("_ts".into(), Value::from(ts));
    }
    (value, etag, expires_at)
}

fn to_doc(body: String, etag: String) -> StoreResult<Doc> {
    let value = serde_json::from_str(&body).map_err(|e| StoreError::Other(e.into()))?;
    Ok(Doc { value, etag })
}

fn read_live(
    conn: &rusqlite::Connection,
    container: &str,
    pk: &str,
    id: &str,
) -> StoreResult<Option<Doc>> {
    let row: Option<(String, String)> = conn
        .query_row(
            &format!(
                "SELECT body, etag FROM docs WHERE container = ? AND pk = ? AND id = ? AND {LIVE}"
            ),
            params![container, pk, id, now()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(b, e)| to_doc(b, e)).transpose()
}

/// Replaces the stored body of an existing row, with fresh system properties.
fn overwrite(
    conn: &rusqlite::Connection,
    container: &str,
    pk: &str,
    id: &str,
    value: Value,
) -> StoreResult<Doc> {
    let (body, etag, expires_at) = stamp(value);
    conn.execute(
        "UPDATE docs SET body = ?, etag = ?, expires_at = ? WHERE container = ? AND pk = ? AND id = ?",
        params![body.to_string(), etag, expires_at, container, pk, id],
    )?;
    Ok(Doc { value: body, etag })
}

#[async_trait]
impl Documents for SqliteDocuments {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>> {
        spec(container)?;
        let (container, pk, id) = (container.to_owned(), pk.to_owned(), id.to_owned());
        self.db
            .run(move |conn| read_live(conn, &container, &pk, &id))
            .await
    }

    async fn create(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        let id = doc::check(spec(container)?, pk, &value)?;
        let (container, pk) = (container.to_owned(), pk.to_owned());
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                // An expired document no longer exists, so its id is free again.
                tx.execute(
                    "DELETE FROM docs WHERE container = ? AND pk = ? AND id = ? AND expires_at <= ?",
                    params![container, pk, id, now()],
                )?;
                let (body, etag, expires_at) = stamp(value);
                tx.execute(
                    "INSERT INTO docs (container, pk, id, body, etag, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                    params![container, pk, id, body.to_string(), etag, expires_at],
                )?;
                tx.commit()?;
                Ok(Doc { value: body, etag })
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
        let id = doc::check(spec(container)?, pk, &value)?;
        let (container, pk) = (container.to_owned(), pk.to_owned());
        let if_match = if_match.map(str::to_owned);
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                let current = read_live(&tx, &container, &pk, &id)?.ok_or(StoreError::NotFound)?;
                if if_match.is_some_and(|etag| etag != current.etag) {
                    return Err(StoreError::PreconditionFailed);
                }
                let doc = overwrite(&tx, &container, &pk, &id, value)?;
                tx.commit()?;
                Ok(doc)
            })
            .await
    }

    async fn upsert(&self, container: &str, pk: &str, value: Value) -> StoreResult<Doc> {
        let id = doc::check(spec(container)?, pk, &value)?;
        let (container, pk) = (container.to_owned(), pk.to_owned());
        self.db
            .run(move |conn| {
                let (body, etag, expires_at) = stamp(value);
                conn.execute(
                    "INSERT INTO docs (container, pk, id, body, etag, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                     ON CONFLICT (container, pk, id) DO UPDATE SET body = excluded.body, etag = excluded.etag, expires_at = excluded.expires_at",
                    params![container, pk, id, body.to_string(), etag, expires_at],
                )?;
                Ok(Doc { value: body, etag })
            })
            .await
    }

    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()> {
        spec(container)?;
        let (container, pk, id) = (container.to_owned(), pk.to_owned(), id.to_owned());
        self.db
            .run(move |conn| {
                let n = conn.execute(
                    &format!(
                        "DELETE FROM docs WHERE container = ? AND pk = ? AND id = ? AND {LIVE}"
                    ),
                    params![container, pk, id, now()],
                )?;
                one_row(n)
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
        spec(container)?;
        let (container, pk, id) = (container.to_owned(), pk.to_owned(), id.to_owned());
        let ops = ops.to_vec();
        let condition = condition.cloned();
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                let current = read_live(&tx, &container, &pk, &id)?.ok_or(StoreError::NotFound)?;
                if condition.is_some_and(|filter| !filter.matches(&current.value)) {
                    return Err(StoreError::PreconditionFailed);
                }
                let mut value = current.value;
                doc::apply_patch(&mut value, &ops)?;
                let doc = overwrite(&tx, &container, &pk, &id, value)?;
                tx.commit()?;
                Ok(doc)
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
        spec(container)?;
        super::super::query::refuse_cross_partition_order(pk, query)?;
        // The embedded token is an offset: simple, and stable for the append-mostly lists it
        // serves locally. Cosmos DB hands out its own tokens.
        let offset: u64 = match continuation {
            None => 0,
            Some(token) => token
                .strip_prefix("o:")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::BadInput(BadInput::Cursor))?,
        };
        let mut args: Vec<rusqlite::types::Value> = vec![container.to_owned().into(), now().into()];
        let mut clauses = vec!["container = ?".to_owned(), LIVE.to_owned()];
        if let Some(pk) = pk {
            clauses.push("pk = ?".into());
            args.push(pk.to_owned().into());
        }
        clauses.extend(sqlite_condition(&query.filters, &mut args)?);
        let order = match &query.order_by {
            Some((field, dir)) => format!(
                "json_extract(body, '{}') {}, id {}",
                sqlite_path(field)?,
                dir_sql(*dir),
                dir_sql(*dir)
            ),
            None => "pk, id".to_owned(),
        };
        let limit = query.limit.clamp(1, 1000) as u64;
        let sql = format!(
            "SELECT body, etag FROM docs WHERE {} ORDER BY {order} LIMIT {} OFFSET {offset}",
            clauses.join(" AND "),
            limit + 1
        );
        let mut rows = self
            .db
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt
                    .query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                Ok(rows)
            })
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let items = rows
            .into_iter()
            .map(|(b, e)| to_doc(b, e))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            continuation: more.then(|| format!("o:{}", offset + limit)),
            items,
        })
    }

    async fn purge_expired(&self) -> StoreResult<u64> {
        self.db
            .run(|conn| {
                let n = conn.execute(
                    "DELETE FROM docs WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    params![now()],
                )?;
                Ok(n as u64)
            })
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db
            .run(|conn| {
                conn.query_row("SELECT 1", [], |_| Ok(()))?;
                Ok(())
            })
            .await
    }
}

fn dir_sql(order: Order) -> &'static str {
    match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    }
}
