//! Dispatch of non-HTTP invocations: `POST /<FunctionName>` from the Functions host, and the
//! same call from the local dev host, land in [`invoke`].

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures::future::BoxFuture;

use super::protocol::{Invocation, InvocationReply, InvocationRequest};
use crate::error::{ApiError, AppJson, Code};
use crate::state::AppState;

/// A trigger function: takes the app and one invocation, answers the reply or fails (the host
/// then retries queue messages and records the failure).
pub type TriggerFn =
    fn(AppState, Invocation) -> BoxFuture<'static, anyhow::Result<InvocationReply>>;

/// A trigger function and the binding type it understands.
#[derive(Clone, Copy)]
pub struct Registered {
    pub trigger_type: &'static str,
    pub run: TriggerFn,
}

/// Every trigger function the handler implements, by function (folder) name.
pub fn registry() -> &'static HashMap<&'static str, Registered> {
    static REGISTRY: OnceLock<HashMap<&'static str, Registered>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        HashMap::from([
            (
                "cleanup",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::jobs::cleanup::run(state, inv)),
                },
            ),
            (
                "rotate-keys",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::jobs::rotate_keys::run(state, inv)),
                },
            ),
            (
                "erase-user",
                Registered {
                    trigger_type: "queueTrigger",
                    run: |state, inv| Box::pin(crate::jobs::erase::run(state, inv)),
                },
            ),
            (
                "chat-connect",
                Registered {
                    trigger_type: "webPubSubTrigger",
                    run: |state, inv| Box::pin(crate::chat::triggers::connect(state, inv)),
                },
            ),
            (
                "chat-connected",
                Registered {
                    trigger_type: "webPubSubTrigger",
                    run: |state, inv| Box::pin(crate::chat::triggers::connected(state, inv)),
                },
            ),
            (
                "chat-disconnected",
                Registered {
                    trigger_type: "webPubSubTrigger",
                    run: |state, inv| Box::pin(crate::chat::triggers::disconnected(state, inv)),
                },
            ),
            (
                "chat-message",
                Registered {
                    trigger_type: "webPubSubTrigger",
                    run: |state, inv| Box::pin(crate::chat::triggers::message(state, inv)),
                },
            ),
            (
                "archive-messages",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::jobs::archive::run(state, inv)),
                },
            ),
            (
                "backup",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::jobs::backup::run(state, inv)),
                },
            ),
            (
                "thumbnails",
                Registered {
                    trigger_type: "queueTrigger",
                    run: |state, inv| Box::pin(crate::jobs::thumbnails::run(state, inv)),
                },
            ),
            (
                "notify-digest",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::notifications::digest::run(state, inv)),
                },
            ),
            (
                "outbox",
                Registered {
                    trigger_type: "timerTrigger",
                    run: |state, inv| Box::pin(crate::jobs::outbox::run(state, inv)),
                },
            ),
            (
                "emails",
                Registered {
                    trigger_type: "queueTrigger",
                    run: |state, inv| Box::pin(crate::jobs::emails::run(state, inv)),
                },
            ),
        ])
    })
}

/// Finds a registered function ignoring case, as the catalog does.
fn registered(name: &str) -> Option<(&'static str, Registered)> {
    registry()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (*k, *v))
}

/// Runs one invocation. Unknown functions are 404; a failing function is 500 so that the host
/// counts the attempt as failed.
pub async fn invoke(
    state: &AppState,
    function: &str,
    request: InvocationRequest,
) -> Result<InvocationReply, ApiError> {
    let (name, registered) = registered(function).ok_or_else(|| {
        ApiError::new(
            Code::FunctionNotFound,
            format!("No function named '{function}' is registered."),
        )
    })?;
    let trigger_binding = state
        .functions
        .get(name)
        .and_then(|f| f.trigger())
        .map(|b| b.name.clone());
    let invocation = Invocation {
        function: name.to_owned(),
        trigger_binding,
        request,
    };
    let attempt = invocation.meta_u64("DequeueCount").unwrap_or(1);
    let started = std::time::Instant::now();
    match (registered.run)(state.clone(), invocation).await {
        Ok(reply) => {
            tracing::info!(
                function = name,
                ms = started.elapsed().as_millis() as u64,
                "invocation succeeded"
            );
            Ok(reply)
        }
        Err(e) => {
            // The host moves a queue message that fails its last attempt to `<queue>-poison`;
            // the metric drives the poison alert (docs/operations.md).
            if registered.trigger_type == "queueTrigger"
                && attempt >= u64::from(state.functions.queues.max_dequeue_count)
            {
                tracing::error!(
                    function = name,
                    attempt,
                    "queue message goes to poison: {e:#}"
                );
                crate::telemetry::metrics()
                    .queue_poison
                    .add(1, &[opentelemetry::KeyValue::new("function", name)]);
            }
            let mut err =
                ApiError::new(Code::InvocationFailed, format!("Function '{name}' failed."));
            err.source = Some(e);
            Err(err)
        }
    }
}

/// `POST /{function}`: the custom-handler door for every non-HTTP trigger.
pub async fn invocation_route(
    State(state): State<AppState>,
    Path(function): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<AppJson<InvocationReply>, ApiError> {
    let body = body.map_err(|e| {
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Code::PayloadTooLarge
        } else {
            Code::InvalidBody
        };
        ApiError::new(code, e.body_text())
    })?;
    // Parsed by hand rather than with a JSON extractor: the host's Content-Type is not
    // something to depend on, and a bad body must still answer 400 in the problem format.
    let malformed = |why: String| {
        ApiError::new(
            Code::MalformedInvocation,
            format!(
                "The invocation body is not {{\"Data\": {{...}}, \"Metadata\": {{...}}}}: {why}"
            ),
        )
    };
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(malformed("not a JSON object".into()));
    }
    let request: InvocationRequest =
        serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
    invoke(&state, &function, request).await.map(AppJson)
}
