//! The local realtime hub: `ws://127.0.0.1:<port>/client/hubs/<hub>?access_token=...` speaking
//! Web PubSub's client subprotocols `json.webpubsub.azure.v1` and
//! `json.reliable.webpubsub.azure.v1` (DESIGN.md section 6), so that the official
//! `@azure/web-pubsub-client` works against `cargo run` as it does against Azure.
//!
//! It is a stand-in for the service, written here because no Web PubSub emulator can be had on
//! these machines: it checks client access tokens the way the service does (HS256 with its key,
//! `aud` the client URL, group rights from `role`), and it calls the same trigger functions with
//! the same invocation JSON as the Functions host: connect (whose answer admits the connection
//! or refuses the handshake), connected, user events (whose answer goes back to the client) and
//! disconnected. The actions those functions return through their output binding are carried
//! out here, as the host would carry them out.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::model::Action;
use super::realtime::ClientClaims;
use crate::error::{ApiError, Code};
use crate::host::{InvocationRequest, dispatch};
use crate::state::AppState;

mod frames;

use frames::handle_frame;

const SIMPLE: &str = "json.webpubsub.azure.v1";
const RELIABLE: &str = "json.reliable.webpubsub.azure.v1";

struct Connection {
    user_id: String,
    reliable: bool,
    sequence: AtomicU64,
    groups: HashSet<String>,
    roles: Vec<String>,
    out: mpsc::UnboundedSender<Utf8Bytes>,
    /// Cancelled when the server closes the connection: the reader stops taking frames and the
    /// writer sends the close frame after what was queued.
    closed: CancellationToken,
}

/// A frame serialised once for every connection it goes to (a message to a group of 100 is
/// one serialisation, not 100): its text is shared, not copied.
struct Outgoing {
    text: Utf8Bytes,
    /// A `message` frame, which the reliable protocol numbers per connection.
    message: bool,
}

impl Outgoing {
    fn new(frame: &Value) -> Self {
        Self {
            text: frame.to_string().into(),
            message: frame["type"] == "message",
        }
    }
}

impl Connection {
    fn send(&self, frame: &Outgoing) {
        let text = if self.reliable && frame.message && frame.text.len() > 2 {
            // `{"sequenceId":N,` then the rest of the object: the same JSON as setting the field
            // and serialising again, without the second serialisation.
            let n = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
            format!("{{\"sequenceId\":{n},{}", &frame.text[1..]).into()
        } else {
            frame.text.clone()
        };
        let _ = self.out.send(text);
    }

    fn may(&self, right: &str, group: &str) -> bool {
        let all = format!("webpubsub.{right}");
        let one = format!("webpubsub.{right}.{group}");
        self.roles.iter().any(|r| r == &all || r == &one)
    }
}

pub struct LocalHub {
    hub: String,
    base_url: String,
    key: [u8; 32],
    connections: Mutex<HashMap<String, Connection>>,
}

impl LocalHub {
    pub fn new(hub: &str, public_base: &url::Url) -> Self {
        let mut base = public_base.clone();
        let scheme = if base.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        let _ = base.set_scheme(scheme);
        base.set_path(&format!("client/hubs/{hub}"));
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self {
            hub: hub.to_owned(),
            base_url: base.to_string(),
            key,
            connections: Mutex::new(HashMap::new()),
        }
    }

    pub fn client_base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The key client access tokens are signed with: made at start, so tokens live as long as
    /// the process, as local ones should.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    fn audience(&self) -> String {
        self.base_url
            .replacen("wss://", "https://", 1)
            .replacen("ws://", "http://", 1)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connection>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn to_group(&self, group: &str, frame: &Value, except: Option<&str>) {
        self.to_group_frame(group, &Outgoing::new(frame), except);
    }

    fn to_group_frame(&self, group: &str, frame: &Outgoing, except: Option<&str>) {
        for (id, connection) in self.lock().iter() {
            if connection.groups.contains(group) && Some(id.as_str()) != except {
                connection.send(frame);
            }
        }
    }

    /// Adds or removes every connection of `user_id`; done under the lock that sends take, so
    /// no message to the group reaches a removed connection after this returns.
    pub fn set_group(&self, user_id: &str, group: &str, member: bool) {
        for connection in self.lock().values_mut() {
            if connection.user_id == user_id {
                if member {
                    connection.groups.insert(group.to_owned());
                } else {
                    connection.groups.remove(group);
                }
            }
        }
    }

    /// Closes every connection of `user_id` as the service's `closeConnections` does: a
    /// `system`/`disconnected` frame, then a close frame with 1008 (policy), which the official
    /// client takes as final (no recovery with the old URL). The connections leave every group
    /// at once and their frames are no longer read.
    pub fn close_user(&self, user_id: &str, reason: &str) {
        let mut connections = self.lock();
        let ids: Vec<String> = connections
            .iter()
            .filter(|(_, c)| c.user_id == user_id)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if let Some(connection) = connections.remove(&id) {
                let frame = json!({"type": "system", "event": "disconnected", "message": reason});
                let _ = connection.out.send(frame.to_string().into());
                connection.closed.cancel();
            }
        }
    }

    pub fn apply(&self, action: &Action) {
        match action {
            Action::SendToGroup { group, event } => {
                let frame =
                    json!({"type": "message", "from": "server", "dataType": "json", "data": event});
                self.to_group(group, &frame, None);
            }
            Action::AddUserToGroup { user_id, group } => self.set_group(user_id, group, true),
            Action::RemoveUserFromGroup { user_id, group } => self.set_group(user_id, group, false),
        }
    }

    /// Carries out the actions of a Web PubSub output binding, as the Functions host would.
    pub fn apply_binding(&self, actions: &Value) {
        let list = match actions {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            one => vec![one.clone()],
        };
        for action in list {
            let name = action["actionName"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let data_type = action["dataType"].as_str().unwrap_or("text").to_owned();
            let data = match (&action["data"], data_type.as_str()) {
                (Value::String(s), "json") => serde_json::from_str(s).unwrap_or(json!(s)),
                (other, _) => other.clone(),
            };
            let frame = Outgoing::new(
                &json!({"type": "message", "from": "server", "dataType": data_type, "data": data}),
            );
            let text = |key: &str| action[key].as_str().unwrap_or_default().to_owned();
            match name.as_str() {
                "sendtogroup" => self.to_group_frame(&text("group"), &frame, None),
                "sendtoall" => self.lock().values().for_each(|c| c.send(&frame)),
                "sendtouser" => {
                    let user = text("userId");
                    self.lock()
                        .values()
                        .filter(|c| c.user_id == user)
                        .for_each(|c| c.send(&frame));
                }
                "addusertogroup" => self.set_group(&text("userId"), &text("group"), true),
                "removeuserfromgroup" => self.set_group(&text("userId"), &text("group"), false),
                other => tracing::warn!(action = other, "local hub: output action not supported"),
            }
        }
    }
}

/// The trigger function of this hub for `event` (from the functions' own function.json).
fn function_for(state: &AppState, hub: &str, event: &str, event_type: &str) -> Option<String> {
    state.functions.functions.values().find_map(|f| {
        let trigger = f.trigger()?;
        let matches = trigger.kind == "webPubSubTrigger"
            && trigger
                .hub
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(hub))
            && trigger
                .event_name
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(event))
            && trigger
                .event_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case(event_type));
        matches.then(|| f.name.clone())
    })
}

/// Calls a trigger function with the JSON the Functions host sends for a Web PubSub event:
/// the request object double-encoded under the binding's name, the context in Metadata.
async fn invoke(
    state: &AppState,
    hub: &str,
    event: &str,
    event_type: &str,
    context: Value,
    extra: Map<String, Value>,
) -> Option<Result<crate::host::InvocationReply, ApiError>> {
    let function = function_for(state, hub, event, event_type)?;
    let binding = state
        .functions
        .get(&function)
        .and_then(|f| f.trigger())
        .map(|b| b.name.clone())
        .unwrap_or_else(|| "request".into());
    let mut request_object = Map::new();
    request_object.insert("connectionContext".into(), context.clone());
    for (k, v) in &extra {
        let mut key = k.clone();
        key[..1].make_ascii_lowercase();
        request_object.insert(key, v.clone());
    }
    let mut metadata = Map::new();
    metadata.insert("ConnectionContext".into(), context);
    metadata.extend(extra);
    metadata.insert("sys".into(), json!({"MethodName": function}));
    let request = InvocationRequest {
        data: Map::from_iter([(
            binding,
            Value::String(Value::Object(request_object).to_string()),
        )]),
        metadata,
    };
    Some(dispatch::invoke(state, &function, request).await)
}

/// The token's claims as the service hands them to the connect event: each a list of strings.
fn claims_of(claims: &ClientClaims) -> Value {
    let mut out = Map::new();
    let mut put = |name: &str, values: Vec<String>| {
        if !values.is_empty() {
            out.insert(name.to_owned(), json!(values));
        }
    };
    put("sub", vec![claims.sub.clone()]);
    if !claims.sid.is_empty() {
        put("sid", vec![claims.sid.clone()]);
    }
    put("role", claims.role.clone());
    put("webpubsub.group", claims.groups.clone());
    Value::Object(out)
}

#[derive(Deserialize)]
pub struct ConnectParams {
    access_token: Option<String>,
}

fn refuse(code: Code, detail: &str) -> Response {
    ApiError::new(code, detail).into_response()
}

fn context(hub: &str, connection_id: &str, user_id: &str, event: &str, event_type: &str) -> Value {
    json!({
        "hub": hub, "connectionId": connection_id, "userId": user_id,
        "eventName": event, "eventType": event_type, "origin": "127.0.0.1",
        "states": {}, "headers": {},
    })
}

/// `GET /client/hubs/{hub}`: the WebSocket handshake.
pub async fn connect_route(
    State(state): State<AppState>,
    Path(hub_name): Path<String>,
    Query(params): Query<ConnectParams>,
    ws: WebSocketUpgrade,
) -> Response {
    let super::realtime::Realtime::Local(hub) = state.realtime.clone() else {
        return refuse(
            Code::NotFound,
            "Realtime is served by Azure Web PubSub here.",
        );
    };
    if !hub_name.eq_ignore_ascii_case(&hub.hub) {
        return refuse(Code::NotFound, "No such hub.");
    }
    let Some(token) = params.access_token else {
        return refuse(
            Code::Unauthorized,
            "Connect with ?access_token= from negotiate.",
        );
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[hub.audience()]);
    let claims = match jsonwebtoken::decode::<ClientClaims>(
        &token,
        &DecodingKey::from_secret(hub.key()),
        &validation,
    ) {
        Ok(data) => data.claims,
        Err(_) => {
            return refuse(
                Code::Unauthorized,
                "The access token is invalid or expired.",
            );
        }
    };
    let connection_id = uuid::Uuid::new_v4().simple().to_string();
    let user_id = claims.sub.clone();
    let mut groups: HashSet<String> = claims.groups.iter().cloned().collect();
    let mut roles = claims.role.clone();
    // Ask the connect function, as the service does, before accepting the handshake.
    let connect_context = context(&hub.hub, &connection_id, &user_id, "connect", "system");
    let extra = Map::from_iter([
        ("Claims".to_owned(), claims_of(&claims)),
        ("Query".to_owned(), json!({})),
        ("Subprotocols".to_owned(), json!([SIMPLE, RELIABLE])),
        ("ClientCertificates".to_owned(), json!([])),
    ]);
    if let Some(result) = invoke(
        &state,
        &hub.hub,
        "connect",
        "system",
        connect_context,
        extra,
    )
    .await
    {
        let reply = match result {
            Ok(reply) => reply.return_value,
            Err(e) => return e.into_response(),
        };
        if let Some(code) = reply["code"].as_str() {
            let code = match code {
                "unauthorized" => Code::Unauthorized,
                "userError" => Code::InvalidRequest,
                _ => Code::Internal,
            };
            return refuse(code, reply["errorMessage"].as_str().unwrap_or("Refused."));
        }
        for group in reply["groups"].as_array().into_iter().flatten() {
            if let Some(g) = group.as_str() {
                groups.insert(g.to_owned());
            }
        }
        for role in reply["roles"].as_array().into_iter().flatten() {
            if let Some(r) = role.as_str() {
                roles.push(r.to_owned());
            }
        }
    }
    let ws = ws.protocols([RELIABLE, SIMPLE]);
    let reliable = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .is_some_and(|p| p == RELIABLE);
    // In the hub before the handshake completes, as the service has a connection in its groups
    // when its client sees the socket open: a message sent at that moment reaches it. The
    // `connected` frame is queued first, so it is the first the client reads.
    let (out, outgoing) = mpsc::unbounded_channel::<Utf8Bytes>();
    let mut connected = json!({"type": "system", "event": "connected", "userId": user_id, "connectionId": connection_id});
    if reliable {
        connected["reconnectionToken"] = json!(uuid::Uuid::new_v4().simple().to_string());
    }
    let _ = out.send(connected.to_string().into());
    let closed = CancellationToken::new();
    hub.lock().insert(
        connection_id.clone(),
        Connection {
            user_id: user_id.clone(),
            reliable,
            sequence: AtomicU64::new(0),
            groups,
            roles,
            out: out.clone(),
            closed: closed.clone(),
        },
    );
    let (failed_hub, failed_id) = (hub.clone(), connection_id.clone());
    let registered = Registered {
        connection_id,
        user_id,
        out,
        outgoing,
        closed,
    };
    ws.on_failed_upgrade(move |_| {
        failed_hub.lock().remove(&failed_id);
    })
    .on_upgrade(move |socket| async move {
        run(state, hub, socket, registered).await;
    })
    .into_response()
}

/// A connection the hub holds from its handshake on: its queue and its close signal.
struct Registered {
    connection_id: String,
    user_id: String,
    out: mpsc::UnboundedSender<Utf8Bytes>,
    outgoing: mpsc::UnboundedReceiver<Utf8Bytes>,
    closed: CancellationToken,
}

async fn run(
    state: AppState,
    hub: std::sync::Arc<LocalHub>,
    socket: WebSocket,
    registered: Registered,
) {
    let Registered {
        connection_id,
        user_id,
        out,
        mut outgoing,
        closed,
    } = registered;
    let (mut sink, mut stream) = socket.split();
    let closing = closed.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                text = outgoing.recv() => match text {
                    Some(text) => {
                        // What else is queued goes out in the same write: under a burst, one
                        // flush for many frames rather than one each.
                        let mut failed = sink.feed(WsMessage::Text(text)).await.is_err();
                        while !failed && let Ok(more) = outgoing.try_recv() {
                            failed = sink.feed(WsMessage::Text(more)).await.is_err();
                        }
                        if failed || sink.flush().await.is_err() {
                            return;
                        }
                    }
                    None => break,
                },
                _ = closing.cancelled() => {
                    // What was queued before the close goes out first (the disconnected frame).
                    while let Ok(text) = outgoing.try_recv() {
                        let _ = sink.send(WsMessage::Text(text)).await;
                    }
                    let frame = axum::extract::ws::CloseFrame {
                        code: 1008,
                        reason: "Closed by the server.".into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
        }
        let _ = sink.close().await;
    });
    let system = |event: &str| context(&hub.hub, &connection_id, &user_id, event, "system");
    if let Some(Ok(reply)) = invoke(
        &state,
        &hub.hub,
        "connected",
        "system",
        system("connected"),
        Map::new(),
    )
    .await
    {
        reply.outputs.values().for_each(|v| hub.apply_binding(v));
    }
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = closed.cancelled() => break,
        };
        let Some(Ok(message)) = message else {
            break;
        };
        let text = match message {
            WsMessage::Text(text) => text.to_string(),
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        handle_frame(&state, &hub, &connection_id, &user_id, &out, frame).await;
    }
    hub.lock().remove(&connection_id);
    let extra = Map::from_iter([("Reason".to_owned(), json!(""))]);
    if let Some(Ok(reply)) = invoke(
        &state,
        &hub.hub,
        "disconnected",
        "system",
        system("disconnected"),
        extra,
    )
    .await
    {
        reply.outputs.values().for_each(|v| hub.apply_binding(v));
    }
    drop(out);
    let _ = writer.await;
}
