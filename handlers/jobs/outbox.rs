//! The outbox: work a request hands to a queue function (an email, an erase, a thumbnail) is
//! first recorded as a document, then sent to its queue, and the record deleted once the queue
//! has the message. A queue service that is down, or a send that runs out of time, loses
//! nothing: the request still succeeds, and the `outbox` timer (every minute) sends what is
//! still recorded. Queue functions are idempotent, so a message sent twice (its record's
//! delete failed, or a sweep raced the request) does no harm.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiResult;
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;
use crate::store::{Cmp, Collection, Filter, Query};

/// A message on its way to a queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutboxDoc {
    id: String,
    queue: String,
    body: String,
    created_at: DateTime<Utc>,
    /// A record is dropped after a week: by then its work is long done or long moot.
    ttl: i64,
}

crate::document!(OutboxDoc, OUTBOX, id);

const KEPT_SECONDS: i64 = 7 * 24 * 3600;

/// A sweep leaves records younger than this to the request that is still sending them.
const SETTLE: Duration = Duration::from_secs(10);

/// How many records one sweep sends at most (a backlog drains over a few minutes).
const SWEEP_MAX: u32 = 500;

fn outbox(state: &AppState) -> Collection<OutboxDoc> {
    state.stores.collection()
}

/// Records `body` for `queue`, then sends it. Fails only when the record cannot be written;
/// a failed send is left to the sweep.
pub async fn enqueue(state: &AppState, queue: &str, body: String) -> ApiResult<()> {
    let record = OutboxDoc {
        id: uuid::Uuid::new_v4().to_string(),
        queue: queue.to_owned(),
        body,
        created_at: Utc::now(),
        ttl: KEPT_SECONDS,
    };
    outbox(state).create(&record).await?;
    if let Err(e) = send(state, &record).await {
        tracing::warn!(queue, "not queued yet, the outbox sweep will: {e}");
    }
    Ok(())
}

/// Sends one record and deletes it. A failed delete only means a second send later.
async fn send(state: &AppState, record: &OutboxDoc) -> ApiResult<()> {
    state
        .stores
        .queues
        .send(&record.queue, &record.body, Duration::ZERO)
        .await?;
    if let Err(e) = outbox(state).remove(&record.id, &record.id).await {
        tracing::warn!(queue = %record.queue, "sent, but its outbox record stays: {e}");
    }
    Ok(())
}

/// `outbox` (timer, every minute): sends what requests recorded but could not queue.
pub async fn run(state: AppState, _invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let settled = (Utc::now() - chrono::Duration::from_std(SETTLE)?)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let query = Query::default()
        .filter(Filter::new("createdAt", Cmp::Lt, settled))
        .limit(SWEEP_MAX);
    let page = outbox(&state).query(None, &query, None).await?;
    let (mut sent, mut failed) = (0u32, 0u32);
    for record in &page.items {
        match send(&state, record).await {
            Ok(()) => sent += 1,
            Err(e) => {
                // The queue is still down: the next sweep tries the rest.
                tracing::warn!(queue = %record.queue, "outbox sweep: not queued: {}", e.detail);
                failed += 1;
                break;
            }
        }
    }
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "outbox: queued {sent} recorded messages, {failed} failed"
    ));
    reply.return_value = json!({"sent": sent, "failed": failed});
    super::record_run(&state, "outbox", &reply.return_value).await?;
    Ok(reply)
}
