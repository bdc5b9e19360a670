//! The local dev host: what the Functions host does for us in Azure, done in-process when the
//! handler runs on its own. It fires timer functions on their NCRONTAB schedules and pumps the
//! local queues into queue functions, building the same invocation JSON the host sends and
//! calling the same [`dispatch::invoke`]; it holds no business logic of its own.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::catalog::FunctionDef;
use super::dispatch;
use super::protocol::{InvocationReply, InvocationRequest};
use crate::error::{ApiError, AppJson, Code};
use crate::state::AppState;

/// Parses a six-field NCRONTAB schedule (`sec min hour day month weekday`).
pub fn parse_schedule(expr: &str) -> anyhow::Result<croner::Cron> {
    if expr.split_whitespace().count() != 6 {
        anyhow::bail!("'{expr}' is not a six-field NCRONTAB schedule");
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| anyhow::anyhow!("schedule '{expr}': {e}"))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The `sys` metadata block the host adds to every invocation.
fn sys(function: &str) -> Value {
    json!({
        "MethodName": function,
        "UtcNow": rfc3339(Utc::now()),
        "RandGuid": uuid::Uuid::new_v4().to_string(),
    })
}

/// The timer payload as the host builds it.
pub fn timer_request(
    def: &FunctionDef,
    last: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
    past_due: bool,
) -> InvocationRequest {
    let binding = def.trigger().map(|b| b.name.clone()).unwrap_or_default();
    let status = last.map(|last| {
        json!({
            "Last": rfc3339(last),
            "Next": next.map(rfc3339),
            "LastUpdated": rfc3339(Utc::now()),
        })
    });
    let mut data = serde_json::Map::new();
    data.insert(
        binding,
        json!({
            "Schedule": {"AdjustForDST": true},
            "ScheduleStatus": status,
            "IsPastDue": past_due,
        }),
    );
    let mut metadata = serde_json::Map::new();
    metadata.insert("sys".into(), sys(&def.name));
    InvocationRequest { data, metadata }
}

/// Starts a task per timer function and per queue function. The tasks end with the process.
pub fn spawn(state: AppState) {
    for def in state.functions.functions.values() {
        let Some(trigger) = def.trigger() else {
            continue;
        };
        if def.json.disabled {
            continue;
        }
        match trigger.kind.as_str() {
            "timerTrigger" => match trigger.schedule.as_deref().map(parse_schedule) {
                Some(Ok(cron)) => {
                    tokio::spawn(run_timer(state.clone(), def.clone(), cron));
                }
                Some(Err(e)) => tracing::error!(function = %def.name, "not scheduled: {e}"),
                None => tracing::error!(function = %def.name, "timer without a schedule"),
            },
            "queueTrigger" => match trigger.queue_name.clone() {
                Some(queue) => {
                    tokio::spawn(pump_queue(state.clone(), def.clone(), queue));
                }
                None => tracing::error!(function = %def.name, "queue trigger without queueName"),
            },
            _ => {}
        }
    }
}

async fn run_timer(state: AppState, def: FunctionDef, cron: croner::Cron) {
    let mut last = None;
    loop {
        let now = Utc::now();
        let Ok(next) = cron.find_next_occurrence(&now, false) else {
            tracing::error!(function = %def.name, "schedule has no next occurrence");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let following = cron.find_next_occurrence(&next, false).ok();
        let request = timer_request(&def, last, following, false);
        if let Err(e) = dispatch::invoke(&state, &def.name, request).await {
            tracing::error!(function = %def.name, "timer run failed: {e}");
        }
        last = Some(next);
    }
}

/// Builds the queue trigger invocation for one message, as the host does: the message text
/// double-encoded (or the object, when it is JSON), metadata values as JSON text.
pub fn queue_request(def: &FunctionDef, message: &crate::store::QueueMessage) -> InvocationRequest {
    let binding = def.trigger().map(|b| b.name.clone()).unwrap_or_default();
    let body = match serde_json::from_str::<Value>(&message.body) {
        Ok(obj @ Value::Object(_)) => obj,
        _ => Value::String(Value::String(message.body.clone()).to_string()),
    };
    let quoted = |s: &str| Value::String(Value::String(s.to_owned()).to_string());
    let mut data = serde_json::Map::new();
    data.insert(binding, body);
    let metadata = json!({
        "DequeueCount": message.dequeue_count.to_string(),
        "Id": quoted(&message.id),
        "PopReceipt": quoted(&message.pop_receipt),
        "InsertionTime": rfc3339(message.inserted_at),
        "ExpirationTime": rfc3339(message.expires_at),
        "NextVisibleTime": rfc3339(message.next_visible_at),
        "sys": sys(&def.name),
    });
    InvocationRequest {
        data,
        metadata: metadata.as_object().cloned().unwrap_or_default(),
    }
}

/// Polls one queue with the host's back-off (fast while there is work, doubling up to
/// `maxPollingInterval` when idle) and its poison rule.
async fn pump_queue(state: AppState, def: FunctionDef, queue: String) {
    let options = state.functions.queues.clone();
    // Hidden for as long as one invocation may run, so a slow function never sees its own
    // message delivered twice; after a crash it reappears then.
    let lease = state.functions.function_timeout;
    let min_idle = Duration::from_millis(100);
    let max_idle = options
        .max_polling_interval
        .min(Duration::from_secs(2))
        .max(min_idle);
    let mut idle = min_idle;
    loop {
        let received = state
            .stores
            .queues
            .receive(&queue, options.batch_size, lease)
            .await;
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(queue = %queue, "receive failed: {e}");
                tokio::time::sleep(max_idle).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(idle).await;
            idle = (idle * 2).min(max_idle);
            continue;
        }
        idle = min_idle;
        for message in messages {
            deliver(&state, &def, &queue, message, &options).await;
        }
    }
}

async fn deliver(
    state: &AppState,
    def: &FunctionDef,
    queue: &str,
    message: crate::store::QueueMessage,
    options: &super::catalog::QueueOptions,
) {
    let queues = &state.stores.queues;
    let request = queue_request(def, &message);
    match dispatch::invoke(state, &def.name, request).await {
        Ok(_) => {
            if let Err(e) = queues
                .delete(queue, &message.id, &message.pop_receipt)
                .await
            {
                tracing::warn!(queue, id = %message.id, "delete after success failed: {e}");
            }
        }
        Err(e) if message.dequeue_count >= options.max_dequeue_count => {
            let poison = format!("{queue}-poison");
            tracing::error!(queue, id = %message.id, "moved to {poison} after {} attempts: {e}", message.dequeue_count);
            if queues
                .send(&poison, &message.body, Duration::ZERO)
                .await
                .is_ok()
            {
                let _ = queues
                    .delete(queue, &message.id, &message.pop_receipt)
                    .await;
            }
        }
        Err(e) => {
            tracing::warn!(queue, id = %message.id, attempt = message.dequeue_count, "failed, will retry: {e}");
            // Visible again after host.json's visibilityTimeout, with its dequeue count kept.
            retry_later(state, queue, &message, options.visibility_timeout).await;
        }
    }
}

/// Puts a failed message back so it is seen again after `delay`.
async fn retry_later(
    state: &AppState,
    queue: &str,
    message: &crate::store::QueueMessage,
    delay: Duration,
) {
    if let Err(e) = state
        .stores
        .queues
        .release(queue, &message.id, &message.pop_receipt, delay)
        .await
    {
        tracing::warn!(queue, id = %message.id, "could not release for retry: {e}");
    }
}

/// `POST /admin/functions/{name}`: runs a function now, as the host's admin API does. The
/// body may carry `{"input": ...}`; timer functions ignore it. Answers 202 with the reply.
pub async fn run_now(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, AppJson<InvocationReply>), ApiError> {
    let def = state
        .functions
        .get(&name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("No function named '{name}'.")))?;
    let input: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| ApiError::new(Code::MalformedJson, e.to_string()))?
            .get("input")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let request = match def.trigger().map(|t| t.kind.as_str()) {
        Some("timerTrigger") => timer_request(&def, None, None, false),
        _ => {
            let binding = def.trigger().map(|b| b.name.clone()).unwrap_or_default();
            let mut data = serde_json::Map::new();
            data.insert(binding, input);
            let mut metadata = serde_json::Map::new();
            metadata.insert("sys".into(), sys(&def.name));
            InvocationRequest { data, metadata }
        }
    };
    let reply = dispatch::invoke(&state, &def.name, request).await?;
    Ok((StatusCode::ACCEPTED, AppJson(reply)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ncrontab_six_fields() {
        let cron = parse_schedule("0 0 2 * * *").unwrap();
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
        let next = cron.find_next_occurrence(&from, false).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 1, 2, 2, 0, 0).unwrap());
        let every_5s = parse_schedule("*/5 * * * * *").unwrap();
        let next = every_5s.find_next_occurrence(&from, false).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 5).unwrap());
        assert!(
            parse_schedule("0 2 * * *").is_err(),
            "five fields is not NCRONTAB"
        );
    }
}
