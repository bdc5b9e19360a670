//! Queues in SQLite with Azure Storage Queue semantics: a received message is hidden for its
//! visibility timeout and comes back with a higher dequeue count unless it is deleted with the
//! pop receipt of that delivery.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;

use super::sqlite::{Sqlite, one_row};
use crate::store::{QueueMessage, Queues, StoreError, StoreResult};

/// Azure's default message time-to-live.
const MESSAGE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct SqliteQueues {
    db: Sqlite,
}

impl SqliteQueues {
    pub fn new(db: Sqlite) -> Self {
        Self { db }
    }
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn check_queue_name(queue: &str) -> StoreResult<()> {
    // Azure's rule: 3-63 lower-case letters, digits and single hyphens.
    let ok = (3..=63).contains(&queue.len())
        && queue
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !queue.starts_with('-')
        && !queue.ends_with('-')
        && !queue.contains("--");
    if ok {
        Ok(())
    } else {
        Err(StoreError::bug(format!("bad queue name '{queue}'")))
    }
}

#[async_trait]
impl Queues for SqliteQueues {
    async fn send(&self, queue: &str, body: &str, delay: Duration) -> StoreResult<()> {
        check_queue_name(queue)?;
        let (queue, body) = (queue.to_owned(), body.to_owned());
        self.db
            .run(move |conn| {
                let now = now_ms();
                conn.execute(
                    "INSERT INTO queue_messages (queue, id, body, inserted_at, expires_at, visible_at) VALUES (?, ?, ?, ?, ?, ?)",
                    params![
                        queue,
                        uuid::Uuid::new_v4().to_string(),
                        body,
                        now,
                        now + MESSAGE_TTL.as_millis() as i64,
                        now + delay.as_millis() as i64
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility: Duration,
    ) -> StoreResult<Vec<QueueMessage>> {
        check_queue_name(queue)?;
        let queue = queue.to_owned();
        let max = max.clamp(1, 32);
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                let now = now_ms();
                tx.execute(
                    "DELETE FROM queue_messages WHERE queue = ? AND expires_at <= ?",
                    params![queue, now],
                )?;
                let rows: Vec<(String, String, i64, i64, i64)> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT id, body, inserted_at, expires_at, dequeue_count FROM queue_messages
                         WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, inserted_at LIMIT ?",
                    )?;
                    stmt.query_map(params![queue, now, max], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect::<Result<_, _>>()?
                };
                let next_visible = now + visibility.as_millis() as i64;
                let mut out = Vec::with_capacity(rows.len());
                for (id, body, inserted, expires, count) in rows {
                    let receipt = uuid::Uuid::new_v4().to_string();
                    tx.execute(
                        "UPDATE queue_messages SET dequeue_count = dequeue_count + 1, pop_receipt = ?, visible_at = ? WHERE id = ?",
                        params![receipt, next_visible, id],
                    )?;
                    out.push(QueueMessage {
                        id,
                        pop_receipt: receipt,
                        body,
                        dequeue_count: (count + 1) as u32,
                        inserted_at: at(inserted),
                        expires_at: at(expires),
                        next_visible_at: at(next_visible),
                    });
                }
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> StoreResult<()> {
        check_queue_name(queue)?;
        let (queue, id, receipt) = (queue.to_owned(), id.to_owned(), pop_receipt.to_owned());
        self.db
            .run(move |conn| {
                let n = conn.execute(
                    "DELETE FROM queue_messages WHERE queue = ? AND id = ? AND pop_receipt = ?",
                    params![queue, id, receipt],
                )?;
                one_row(n)
            })
            .await
    }

    async fn release(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        delay: Duration,
    ) -> StoreResult<()> {
        check_queue_name(queue)?;
        let (queue, id, receipt) = (queue.to_owned(), id.to_owned(), pop_receipt.to_owned());
        self.db
            .run(move |conn| {
                let n = conn.execute(
                    "UPDATE queue_messages SET visible_at = ?, pop_receipt = '' WHERE queue = ? AND id = ? AND pop_receipt = ?",
                    params![now_ms() + delay.as_millis() as i64, queue, id, receipt],
                )?;
                one_row(n)
            })
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
