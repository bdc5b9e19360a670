//! The Web PubSub trigger functions of hub `chat` (DESIGN.md section 6): `chat-connect` admits a
//! user into their conversations' groups, `chat-connected` and `chat-disconnected` keep
//! presence, and `chat-message` takes client frames with the same rules as the REST routes.
//! Azure's Functions host calls them; locally the hub in `hub.rs` does, with the same JSON.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::messages::{self, SendRequest};
use super::model::{Action, group_of};
use crate::error::{ApiError, Code};
use crate::host::protocol::decode;
use crate::host::{Invocation, InvocationReply};
use crate::state::AppState;

/// A user counts as online while a connection of theirs is known; entries expire after this,
/// so a disconnect that never arrived heals on its own. Each event of a connection renews it.
pub const PRESENCE_TTL: Duration = Duration::from_secs(3600);

/// What a trigger invocation says about the connection and the event.
#[derive(Debug, Default)]
pub struct PubSubEvent {
    pub user_id: Option<String>,
    pub connection_id: String,
    pub data: Value,
    pub data_type: String,
    pub reason: Option<String>,
}

fn field(value: &Value, key: &str) -> Option<Value> {
    let object = value.as_object()?;
    object
        .get(key)
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .map(decode)
}

fn text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s),
        _ => None,
    }
}

impl PubSubEvent {
    /// Reads Metadata first and the trigger's request object second: the host fills both, and
    /// which one carries a field has varied between extension versions.
    pub fn from_invocation(invocation: &Invocation) -> Self {
        let request = invocation.trigger_value().unwrap_or(Value::Null);
        let pick = |key: &str| invocation.meta(key).or_else(|| field(&request, key));
        let context = pick("ConnectionContext").unwrap_or(Value::Null);
        let data = pick("Data").unwrap_or(Value::Null);
        let data_type = text(pick("DataType")).unwrap_or_else(|| "text".into());
        let data = match (&data, data_type.as_str()) {
            // JSON frames arrive as their text.
            (Value::String(s), "json") => serde_json::from_str(s).unwrap_or(data),
            _ => data,
        };
        PubSubEvent {
            user_id: text(field(&context, "userId")),
            connection_id: text(field(&context, "connectionId")).unwrap_or_default(),
            data,
            data_type,
            reason: text(pick("Reason")),
        }
    }
}

fn error_reply(code: &str, message: &str) -> InvocationReply {
    InvocationReply {
        return_value: json!({"code": code, "errorMessage": message}),
        ..Default::default()
    }
}

/// The name of the function's Web PubSub output binding, from its function.json.
fn output_binding(state: &AppState, function: &str) -> String {
    state
        .functions
        .get(function)
        .and_then(|f| {
            f.json
                .bindings
                .iter()
                .find(|b| b.kind == "webPubSub" && b.direction == "out")
                .map(|b| b.name.clone())
        })
        .unwrap_or_else(|| "actions".into())
}

fn with_actions(
    state: &AppState,
    function: &str,
    mut reply: InvocationReply,
    actions: &[Action],
) -> InvocationReply {
    if !actions.is_empty() {
        reply.outputs = Map::from_iter([(
            output_binding(state, function),
            Value::Array(actions.iter().map(Action::to_binding).collect()),
        )]);
    }
    reply
}

pub async fn connect(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let event = PubSubEvent::from_invocation(&invocation);
    let Some(user_id) = event.user_id else {
        return Ok(error_reply(
            "unauthorized",
            "Connect with the URL from /api/v1/realtime/negotiate.",
        ));
    };
    let active = crate::users::store::get(&state, &user_id)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))?
        .is_some_and(|u| u.is_active());
    if !active {
        return Ok(error_reply("unauthorized", "This account cannot connect."));
    }
    // A client token is negotiated in a session: once that session has ended (logout, revoke),
    // the token must not open a new connection, though it has not expired. The revoked mark
    // outlives every client token (access token lifetime + 60 s >= 15 min).
    let session = claim(&invocation, "sid");
    let ended = match &session {
        Some(sid) => crate::auth::revocations::is_revoked(&state, sid)
            .await
            .map_err(|e| anyhow::anyhow!(e.detail))?,
        None => true,
    };
    if ended {
        return Ok(error_reply(
            "unauthorized",
            "This session has ended; negotiate again after signing in.",
        ));
    }
    // Membership is decided here, on the server, and changed later by the group calls: the
    // client gets no roles, so it can neither join a group nor send to one itself.
    let mut groups: Vec<String> = super::store::conversation_ids(&state, &user_id)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))?
        .iter()
        .map(|id| group_of(id))
        .collect();
    groups.push(user_group(&user_id));
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "chat-connect: {user_id} joins {} groups",
        groups.len()
    ));
    reply.return_value = json!({"userId": user_id, "groups": groups});
    Ok(reply)
}

/// The personal group of a user: every connection of theirs is in it, for events meant for
/// them alone (such as being removed from a conversation).
pub fn user_group(user_id: &str) -> String {
    format!("user:{user_id}")
}

/// The first value of a claim of the client's token, from the connect event's `Claims`
/// (`{name: [values]}`, names matched case-insensitively).
fn claim(invocation: &Invocation, name: &str) -> Option<String> {
    let request = invocation.trigger_value().unwrap_or(Value::Null);
    let claims = invocation
        .meta("Claims")
        .or_else(|| field(&request, "claims"))?;
    match field(&claims, name)? {
        Value::Array(values) => values.first().and_then(|v| v.as_str()).map(str::to_owned),
        Value::String(s) => Some(s),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

use crate::people::presence::online_key;

fn presence_key(user_id: &str) -> String {
    format!("presence:{user_id}")
}

/// Whether the user has a live connection (for presence readers).
pub async fn is_online(state: &AppState, user_id: &str) -> bool {
    state
        .stores
        .cache
        .set_members(&presence_key(user_id))
        .await
        .is_ok_and(|m| !m.is_empty())
}

/// The presence change as one event per contact (people::presence), not one per conversation.
async fn presence_actions(
    state: &AppState,
    user_id: &str,
    online: bool,
    last_seen_at: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<Vec<Action>> {
    crate::people::presence::change_actions(state, user_id, online, last_seen_at)
        .await
        .map_err(|e| anyhow::anyhow!(e.detail))
}

pub async fn connected(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let event = PubSubEvent::from_invocation(&invocation);
    let Some(user_id) = event.user_id else {
        return Ok(InvocationReply::default());
    };
    let cache = &state.stores.cache;
    let key = presence_key(&user_id);
    let was_online = !cache.set_members(&key).await?.is_empty();
    cache
        .set_add(&key, &event.connection_id, PRESENCE_TTL)
        .await?;
    cache.set(&online_key(&user_id), "1", PRESENCE_TTL).await?;
    let actions = if was_online {
        Vec::new()
    } else {
        presence_actions(&state, &user_id, true, None).await?
    };
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "chat-connected: {user_id} ({})",
        event.connection_id
    ));
    Ok(with_actions(&state, &invocation.function, reply, &actions))
}

pub async fn disconnected(
    state: AppState,
    invocation: Invocation,
) -> anyhow::Result<InvocationReply> {
    let event = PubSubEvent::from_invocation(&invocation);
    let Some(user_id) = event.user_id else {
        return Ok(InvocationReply::default());
    };
    let cache = &state.stores.cache;
    let key = presence_key(&user_id);
    cache.set_remove(&key, &event.connection_id).await?;
    let actions = if cache.set_members(&key).await?.is_empty() {
        cache.del(&online_key(&user_id)).await?;
        let seen = chrono::Utc::now();
        crate::users::store::stamp_last_seen(&state, &user_id, seen)
            .await
            .map_err(|e| anyhow::anyhow!(e.detail))?;
        presence_actions(&state, &user_id, false, Some(seen)).await?
    } else {
        Vec::new()
    };
    let mut reply = InvocationReply::default();
    reply.log(format!(
        "chat-disconnected: {user_id} ({}){}",
        event.connection_id,
        event.reason.map(|r| format!(": {r}")).unwrap_or_default()
    ));
    Ok(with_actions(&state, &invocation.function, reply, &actions))
}

fn user_error(e: ApiError) -> InvocationReply {
    let fields = e
        .errors
        .as_ref()
        .map(|f| format!(" {}", serde_json::to_string(f).unwrap_or_default()))
        .unwrap_or_default();
    error_reply("userError", &format!("{}: {}{fields}", e.code, e.detail))
}

/// A client frame: `{type: "message.send" | "typing" | "read", conversationId, ...}`.
pub async fn message(state: AppState, invocation: Invocation) -> anyhow::Result<InvocationReply> {
    let event = PubSubEvent::from_invocation(&invocation);
    let Some(user_id) = event.user_id.clone() else {
        return Ok(error_reply("unauthorized", "The connection has no user."));
    };
    let _ = state
        .stores
        .cache
        .set_add(&presence_key(&user_id), &event.connection_id, PRESENCE_TTL)
        .await;
    let _ = state
        .stores
        .cache
        .set(&online_key(&user_id), "1", PRESENCE_TTL)
        .await;
    let frame = &event.data;
    let conversation_id = frame["conversationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let result = match frame["type"].as_str() {
        Some("message.send") => match serde_json::from_value::<SendRequest>(strip(frame)) {
            Ok(request) => messages::send(&state, &user_id, &conversation_id, request, None)
                .await
                .map(|(message, created, actions)| {
                    (
                        json!({"type": "message.sent", "created": created, "message": message}),
                        actions,
                    )
                }),
            Err(e) => Err(ApiError::new(Code::InvalidBody, e.to_string())),
        },
        Some("typing") => messages::typing_state(
            &state,
            &user_id,
            &conversation_id,
            frame["state"].as_str().unwrap_or_default(),
        )
        .await
        .map(|actions| (json!({"type": "typing.sent"}), actions)),
        Some("read") => messages::mark_read(
            &state,
            &user_id,
            &conversation_id,
            frame["messageId"].as_str().unwrap_or_default(),
        )
        .await
        .map(|(unread, actions)| (json!({"type": "read.done", "unreadCount": unread}), actions)),
        _ => Err(ApiError::new(
            Code::UnknownFrame,
            "Send {type: message.send | typing | read, conversationId, ...} as JSON.",
        )),
    };
    match result {
        Ok((data, actions)) => {
            let mut reply = InvocationReply::default();
            reply.log(format!("chat-message: {} from {user_id}", frame["type"]));
            reply.return_value = json!({"data": data, "dataType": "json"});
            Ok(with_actions(&state, &invocation.function, reply, &actions))
        }
        // The store being down is ours to report; bad input is the client's.
        Err(e) if e.status.is_server_error() => Err(anyhow::anyhow!("{}: {}", e.code, e.detail)),
        Err(e) => Ok(user_error(e)),
    }
}

/// The frame without its routing fields, as the REST body of a send.
fn strip(frame: &Value) -> Value {
    let mut body = frame.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("type");
        object.remove("conversationId");
    }
    body
}
