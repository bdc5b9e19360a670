//! What a client sends on its connection: group joins and leaves, messages to a group, user
//! events (answered through the event's trigger function), pings.

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use axum::extract::ws::Utf8Bytes;

use super::{LocalHub, Outgoing, context, invoke};
use crate::state::AppState;

fn ack(out: &mpsc::UnboundedSender<Utf8Bytes>, ack_id: &Value, error: Option<(&str, String)>) {
    if ack_id.is_null() {
        return;
    }
    let frame = match error {
        None => json!({"type": "ack", "ackId": ack_id, "success": true}),
        Some((name, message)) => {
            json!({"type": "ack", "ackId": ack_id, "success": false, "error": {"name": name, "message": message}})
        }
    };
    let _ = out.send(frame.to_string().into());
}

pub(super) async fn handle_frame(
    state: &AppState,
    hub: &LocalHub,
    connection_id: &str,
    user_id: &str,
    out: &mpsc::UnboundedSender<Utf8Bytes>,
    frame: Value,
) {
    let ack_id = frame["ackId"].clone();
    let group = frame["group"].as_str().unwrap_or_default().to_owned();
    let forbidden =
        |what: &str| Some(("Forbidden", format!("No right to {what} group '{group}'.")));
    match frame["type"].as_str().unwrap_or_default() {
        kind @ ("joinGroup" | "leaveGroup") => {
            let mut connections = hub.lock();
            let Some(connection) = connections.get_mut(connection_id) else {
                return;
            };
            if !connection.may("joinLeaveGroup", &group) {
                drop(connections);
                return ack(out, &ack_id, forbidden("join or leave"));
            }
            if kind == "joinGroup" {
                connection.groups.insert(group.clone());
            } else {
                connection.groups.remove(&group);
            }
            drop(connections);
            ack(out, &ack_id, None);
        }
        "sendToGroup" => {
            let allowed = hub
                .lock()
                .get(connection_id)
                .is_some_and(|c| c.may("sendToGroup", &group));
            if !allowed {
                return ack(out, &ack_id, forbidden("send to"));
            }
            let message = json!({
                "type": "message", "from": "group", "group": group, "fromUserId": user_id,
                "dataType": frame["dataType"].clone(), "data": frame["data"].clone(),
            });
            let no_echo = frame["noEcho"].as_bool().unwrap_or(false);
            hub.to_group(&group, &message, no_echo.then_some(connection_id));
            ack(out, &ack_id, None);
        }
        "event" => {
            let event = frame["event"].as_str().unwrap_or_default().to_owned();
            let data_type = frame["dataType"].as_str().unwrap_or("text").to_owned();
            let data = match (&frame["data"], data_type.as_str()) {
                (Value::String(s), _) => s.clone(),
                (other, _) => other.to_string(),
            };
            let context = context(&hub.hub, connection_id, user_id, &event, "user");
            let extra = Map::from_iter([
                ("Data".to_owned(), json!(data)),
                ("DataType".to_owned(), json!(data_type)),
            ]);
            match invoke(state, &hub.hub, &event, "user", context, extra).await {
                None => ack(out, &ack_id, None),
                Some(Err(e)) => ack(out, &ack_id, Some(("InternalServerError", e.detail))),
                Some(Ok(reply)) => {
                    reply.outputs.values().for_each(|v| hub.apply_binding(v));
                    let answer = reply.return_value;
                    if let Some(code) = answer["code"].as_str() {
                        let message = answer["errorMessage"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        return ack(out, &ack_id, Some((code, message)));
                    }
                    if !answer["data"].is_null() {
                        let reply_frame = json!({
                            "type": "message", "from": "server",
                            "dataType": answer["dataType"].as_str().unwrap_or("json"),
                            "data": answer["data"],
                        });
                        if let Some(connection) = hub.lock().get(connection_id) {
                            connection.send(&Outgoing::new(&reply_frame));
                        }
                    }
                    ack(out, &ack_id, None);
                }
            }
        }
        "ping" => {
            let _ = out.send(json!({"type": "pong"}).to_string().into());
        }
        // Reliable-protocol acknowledgements: this hub keeps no resend buffer to trim.
        _ => {}
    }
}
