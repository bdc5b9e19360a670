//! Realtime: the Web PubSub trigger functions driven with the host's invocation JSON, REST
//! broadcasts checked by a stand-in for the service, and the local hub driven by the official
//! `@azure/web-pubsub-client` package.

use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{Person, conversation, person, say};
use crate::helpers::{Kind, Options, TestApp, portal, spawn_app_with};
use crate::http::call;

both!(
    triggers_answer_as_the_host_expects,
    negotiate_grants_no_rights
);

/// The session id (`sid`) of an access token.
pub(crate) fn sid_of(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_owned()
}

/// The JSON the Functions host posts for a Web PubSub event: the request object as JSON text
/// under the binding's name, the connection context in Metadata (here double-encoded too).
pub(crate) fn event(user_id: &str, connection_id: &str, event: &str, extra: Value) -> String {
    let context = json!({
        "hub": "chat", "connectionId": connection_id, "userId": user_id,
        "eventName": event, "eventType": if event == "message" { "user" } else { "system" },
        "origin": "example.webpubsub.azure.com", "states": {}, "headers": {},
    });
    let mut request = json!({"connectionContext": context});
    let mut metadata = json!({"ConnectionContext": context.to_string()});
    for (k, v) in extra.as_object().unwrap() {
        request[k.to_lowercase()] = v.clone();
        metadata[k] = v.clone();
    }
    json!({"Data": {"request": request.to_string()}, "Metadata": metadata}).to_string()
}

pub(crate) async fn invoke(app: &TestApp, function: &str, body: String) -> Value {
    let response = app.post_raw(&format!("/{function}"), &body).await;
    assert_eq!(response.status(), 200, "{function}");
    response.json().await.unwrap()
}

fn actions(reply: &Value) -> Vec<Value> {
    reply["Outputs"]["actions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn triggers_answer_as_the_host_expects(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, stranger) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "s").await,
    );
    let id = conversation(&app, &a, "group", &[&b]).await;
    let group = format!("conv:{id}");

    let claims = json!({"sub": [a.id], "sid": [sid_of(&a.token)]});
    let connect = invoke(
        &app,
        "chat-connect",
        event(
            &a.id,
            "c1",
            "connect",
            json!({"Claims": claims, "Query": {}}),
        ),
    )
    .await;
    assert_eq!(connect["ReturnValue"]["userId"], a.id.as_str());
    assert_eq!(
        connect["ReturnValue"]["groups"],
        json!([group, format!("user:{}", a.id)])
    );
    assert!(connect["ReturnValue"].get("roles").is_none(), "{connect}");
    let nobody = invoke(
        &app,
        "chat-connect",
        event("ghost", "c0", "connect", json!({})),
    )
    .await;
    assert_eq!(nobody["ReturnValue"]["code"], "unauthorized");

    // Presence: online with the first connection, offline after the last.
    let first = invoke(
        &app,
        "chat-connected",
        event(&a.id, "c1", "connected", json!({})),
    )
    .await;
    let announced = actions(&first);
    assert_eq!(announced.len(), 1);
    // Once to each person A shares a conversation with, through their own group.
    assert_eq!(announced[0]["actionName"], "sendToGroup");
    assert_eq!(announced[0]["group"], format!("user:{}", b.id).as_str());
    assert_eq!(announced[0]["dataType"], "json");
    let data: Value = serde_json::from_str(announced[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(
        data,
        json!({"type": "presence", "data": {"userId": a.id, "online": true, "lastSeenAt": null}})
    );
    let second = invoke(
        &app,
        "chat-connected",
        event(&a.id, "c2", "connected", json!({})),
    )
    .await;
    assert!(actions(&second).is_empty());
    let one_left = invoke(
        &app,
        "chat-disconnected",
        event(&a.id, "c2", "disconnected", json!({"Reason": "closed"})),
    )
    .await;
    assert!(actions(&one_left).is_empty());
    let gone = invoke(
        &app,
        "chat-disconnected",
        event(&a.id, "c1", "disconnected", json!({})),
    )
    .await;
    let data: Value = serde_json::from_str(actions(&gone)[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["data"]["online"], false);
    assert!(data["data"]["lastSeenAt"].is_string(), "{data}");

    // A client frame: stored like a REST send, answered through ReturnValue, broadcast
    // through the output binding.
    let frame = json!({"type": "message.send", "conversationId": id, "clientMessageId": "w1", "text": "from the socket"});
    let sent = invoke(
        &app,
        "chat-message",
        event(
            &b.id,
            "c3",
            "message",
            json!({"Data": frame.to_string(), "DataType": "json"}),
        ),
    )
    .await;
    assert_eq!(sent["ReturnValue"]["dataType"], "json");
    assert_eq!(sent["ReturnValue"]["data"]["type"], "message.sent");
    assert_eq!(
        sent["ReturnValue"]["data"]["message"]["text"],
        "from the socket"
    );
    let broadcast: Value =
        serde_json::from_str(actions(&sent)[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(broadcast["type"], "message.new");
    let page: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/conversations/{id}/messages"),
        Some(&a.token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["items"][0]["text"], "from the socket");

    let read = json!({"type": "read", "conversationId": id, "messageId": sent["ReturnValue"]["data"]["message"]["id"]});
    let receipt = invoke(
        &app,
        "chat-message",
        event(
            &a.id,
            "c1",
            "message",
            json!({"Data": read.to_string(), "DataType": "json"}),
        ),
    )
    .await;
    assert_eq!(
        receipt["ReturnValue"]["data"],
        json!({"type": "read.done", "unreadCount": 0})
    );

    for (who, frame) in [
        (
            &stranger,
            json!({"type": "message.send", "conversationId": id, "clientMessageId": "w2", "text": "let me in"}),
        ),
        (
            &b,
            json!({"type": "message.send", "conversationId": id, "clientMessageId": "w3", "text": ""}),
        ),
        (&b, json!({"type": "dance", "conversationId": id})),
    ] {
        let refused = invoke(
            &app,
            "chat-message",
            event(
                &who.id,
                "c4",
                "message",
                json!({"Data": frame.to_string(), "DataType": "json"}),
            ),
        )
        .await;
        assert_eq!(refused["ReturnValue"]["code"], "userError", "{refused}");
        assert!(actions(&refused).is_empty());
    }
}

/// The claims of a token, read without checking its signature (the local hub's key is its
/// own); the test with the service stand-in checks signatures.
pub(crate) fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(crate) async fn negotiate(app: &TestApp, who: &Person) -> Value {
    let response = call(
        app,
        Method::GET,
        "/api/v1/realtime/negotiate",
        Some(&who.token),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The client token names the user and session and grants nothing: no `role` (join or send
/// rights would outlive membership) and no `webpubsub.group`.
async fn negotiate_grants_no_rights(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    conversation(&app, &a, "direct", &[&b]).await;
    let answer = negotiate(&app, &a).await;
    let url = answer["url"].as_str().unwrap();
    assert!(
        url.starts_with("ws://127.0.0.1:") && url.contains("/client/hubs/chat?access_token="),
        "{url}"
    );
    assert_eq!(
        answer["baseUrl"].as_str().unwrap(),
        url.split('?').next().unwrap()
    );
    let claims = claims_of(answer["accessToken"].as_str().unwrap());
    assert_eq!(claims["sub"], a.id.as_str());
    assert_eq!(claims["sid"], sid_of(&a.token).as_str());
    assert!(claims.get("role").is_none(), "{claims}");
    assert!(claims.get("webpubsub.group").is_none(), "{claims}");
    let expires: chrono::DateTime<chrono::Utc> =
        answer["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(expires <= chrono::Utc::now() + chrono::Duration::minutes(16));
    let anonymous = call(&app, Method::GET, "/api/v1/realtime/negotiate", None, None).await;
    assert_eq!(anonymous.status(), 401);
}

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    pub path_and_query: String,
    pub body: String,
}

/// A stand-in for Web PubSub's REST API: it checks each request's bearer token as the service
/// does (HS256 with the access key, `aud` the request URL without port, not expired), records
/// what it accepted, and can be told to fail.
pub(crate) struct FakeService {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub rejected: Arc<Mutex<Vec<String>>>,
    pub failing: Arc<std::sync::atomic::AtomicBool>,
}

pub(crate) const ACCESS_KEY: &str = "c2VydmljZS1rZXktZm9yLXRlc3RzLW9ubHktMTIzNDU2Nzg5MA==";

pub(crate) async fn fake_service() -> FakeService {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<Seen>>> = Default::default();
    let rejected: Arc<Mutex<Vec<String>>> = Default::default();
    let failing: Arc<std::sync::atomic::AtomicBool> = Default::default();
    let (s, r, f) = (seen.clone(), rejected.clone(), failing.clone());
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (seen, rejected, failing) = (s.clone(), r.clone(), f.clone());
        async move {
            let method = request.method().to_string();
            let path_and_query = request.uri().to_string();
            let token = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_owned();
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_audience(&[format!("http://127.0.0.1{path_and_query}")]);
            validation.set_required_spec_claims(&["exp", "aud"]);
            let valid = jsonwebtoken::decode::<Value>(
                &token,
                &DecodingKey::from_secret(ACCESS_KEY.as_bytes()),
                &validation,
            );
            if let Err(e) = valid {
                rejected
                    .lock()
                    .unwrap()
                    .push(format!("{path_and_query}: {e}"));
                return axum::http::StatusCode::UNAUTHORIZED;
            }
            if failing.load(std::sync::atomic::Ordering::SeqCst) {
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            }
            seen.lock().unwrap().push(Seen {
                method,
                path_and_query,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            axum::http::StatusCode::ACCEPTED
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeService {
        port,
        seen,
        rejected,
        failing,
    }
}

#[tokio::test]
async fn rest_broadcasts_are_signed_as_the_service_requires() {
    let service = fake_service().await;
    let connection = format!(
        "Endpoint=http://127.0.0.1;Port={};AccessKey={ACCESS_KEY};Version=1.0;",
        service.port
    );
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("WEBPUBSUB_CONNECTION_STRING".into(), connection)],
            ..Default::default()
        },
    )
    .await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    say(&app, &a, &id, "to the service").await;

    let seen = service.seen.lock().unwrap().clone();
    assert!(
        service.rejected.lock().unwrap().is_empty(),
        "{:?}",
        service.rejected.lock().unwrap()
    );
    let joins: Vec<&Seen> = seen.iter().filter(|s| s.method == "PUT").collect();
    assert_eq!(joins.len(), 2, "{seen:?}");
    assert!(joins.iter().any(|s| s.path_and_query
        == format!(
            "/api/hubs/chat/users/{}/groups/conv:{id}?api-version=2024-12-01",
            b.id
        )));
    let sent = seen
        .iter()
        .find(|s| s.method == "POST" && s.body.contains("message.new"))
        .expect("a message.new broadcast");
    assert_eq!(
        sent.path_and_query,
        format!("/api/hubs/chat/groups/conv:{id}/:send?api-version=2024-12-01")
    );
    let event: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(event["data"]["text"], "to the service");

    // The client token is the service's kind: signed with the key, for the client endpoint.
    let answer = negotiate(&app, &a).await;
    assert!(answer["url"].as_str().unwrap().starts_with(&format!(
        "ws://127.0.0.1:{}/client/hubs/chat?access_token=",
        service.port
    )));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[format!(
        "http://127.0.0.1:{}/client/hubs/chat",
        service.port
    )]);
    let token = jsonwebtoken::decode::<Value>(
        answer["accessToken"].as_str().unwrap(),
        &DecodingKey::from_secret(ACCESS_KEY.as_bytes()),
        &validation,
    )
    .unwrap();
    assert_eq!(token.claims["sub"], a.id.as_str());

    // The service failing loses nothing: the message is stored and listed.
    service
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let kept = say(&app, &b, &id, "kept anyway").await;
    let page: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/conversations/{id}/messages"),
        Some(&a.token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["items"][0]["id"], kept["id"]);
}

#[tokio::test]
async fn the_official_client_talks_to_the_local_hub() {
    let app = portal(Kind::Embedded, &[]).await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let id = conversation(&app, &a, "group", &[&b]).await;
    let elsewhere = conversation(&app, &c, "direct", &[&a]).await;
    let args = [
        app.address.clone(),
        a.token.clone(),
        b.token.clone(),
        id.clone(),
        format!("conv:{elsewhere}-not-yours"),
    ];
    let printed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::emulators::node_script("chat-client.mjs", &args)
    })
    .await
    .unwrap();
    let summary: Value = serde_json::from_str(printed.trim()).unwrap();
    // A hears B arrive, once, through its own group; nobody is told of their own arrival.
    assert_eq!(summary["presence"], json!([b.id]), "{summary}");
    assert_eq!(summary["restStatus"], 201);
    assert_eq!(summary["overRest"]["data"]["senderId"], a.id.as_str());
    assert_eq!(summary["reply"]["message"]["text"], "over the hub");
    assert_eq!(summary["overHub"]["data"]["senderId"], a.id.as_str());
    assert_eq!(summary["refused"], "Forbidden");

    // What went through the hub is stored like any message.
    let page: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/conversations/{id}/messages"),
        Some(&b.token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["over the hub", "over REST"]);

    // A forged token never reaches the socket.
    let answer = negotiate(&app, &a).await;
    let url = answer["url"]
        .as_str()
        .unwrap()
        .replace("access_token=", "access_token=x");
    let refused = app
        .client
        .get(url.replacen("ws://", "http://", 1))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
