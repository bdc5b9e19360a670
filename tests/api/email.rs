//! Email delivery through Azure Communication Services. No ACS emulator exists, so a fake
//! follows the documented REST protocol: `POST /emails:send?api-version=2023-03-31` with HMAC-SHA256
//! authorisation over `VERB\npath?query\ndate;host;content-hash`, answering 202.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Kind, Options, spawn_app_with};
use crate::http::problem;

const KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHM="; // base64 of "secret-key-for-tests"

#[derive(Clone, Default)]
struct Fake {
    received: Arc<Mutex<Vec<Value>>>,
    fail: bool,
}

/// Checks the request the way ACS does, then records it.
async fn send(State(fake): State<Fake>, request: Request) -> StatusCode {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let hash = STANDARD.encode(Sha256::digest(&body));
    if header("x-ms-content-sha256") != hash {
        return StatusCode::UNAUTHORIZED;
    }
    let to_sign = format!(
        "POST\n{}\n{};{};{}",
        parts.uri.path_and_query().unwrap(),
        header("x-ms-date"),
        header("host"),
        hash
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(&STANDARD.decode(KEY).unwrap()).unwrap();
    mac.update(to_sign.as_bytes());
    let expected = format!(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={}",
        STANDARD.encode(mac.finalize().into_bytes())
    );
    if header("authorization") != expected || parts.uri.query() != Some("api-version=2023-03-31") {
        return StatusCode::UNAUTHORIZED;
    }
    if fake.fail {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mut sent: Value = serde_json::from_slice(&body).unwrap();
    sent["operationId"] = json!(header("operation-id"));
    fake.received.lock().unwrap().push(sent);
    StatusCode::ACCEPTED
}

async fn start(fake: Fake) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let app = Router::new()
        .route("/emails:send", post(send))
        .with_state(fake);
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

fn invocation(email: &portal_api::email::Email) -> String {
    json!({
        "Data": {"message": serde_json::to_string(&serde_json::to_string(email).unwrap()).unwrap()},
        "Metadata": {"DequeueCount": "1"},
    })
    .to_string()
}

async fn app_with_acs(endpoint: &str) -> crate::helpers::TestApp {
    spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![
                ("ACS_EMAIL_ENDPOINT".into(), endpoint.into()),
                ("ACS_EMAIL_KEY".into(), KEY.into()),
                ("EMAIL_SENDER".into(), "DoNotReply@portal.example".into()),
            ],
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn emails_are_sent_through_acs_with_a_valid_signature() {
    let fake = Fake::default();
    let endpoint = start(fake.clone()).await;
    let app = app_with_acs(&endpoint).await;
    let email = portal_api::email::Email::new(
        "password-reset",
        "ada@example.com",
        "Reset",
        "Use this link",
    );
    let response = app.post_raw("/emails", &invocation(&email)).await;
    assert_eq!(response.status(), 200);
    let received = fake.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["senderAddress"], "DoNotReply@portal.example");
    assert_eq!(
        received[0]["recipients"]["to"][0]["address"],
        "ada@example.com"
    );
    assert_eq!(received[0]["content"]["subject"], "Reset");
    assert_eq!(received[0]["content"]["plainText"], "Use this link");
    assert_eq!(received[0]["operationId"], email.id.as_str());
    // With ACS configured there is no local mailbox.
    problem(app.get("/api/dev/mailbox").await, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn an_acs_outage_fails_the_invocation_so_the_host_retries() {
    let endpoint = start(Fake {
        fail: true,
        ..Default::default()
    })
    .await;
    let app = app_with_acs(&endpoint).await;
    let email = portal_api::email::Email::new("invite", "bob@example.com", "Hi", "Hello");
    problem(
        app.post_raw("/emails", &invocation(&email)).await,
        500,
        "INVOCATION_FAILED",
    )
    .await;
}

#[test]
fn half_configured_acs_stops_start_up_naming_the_setting() {
    // Settings refuse it before anything is built.
    let err = portal_api::Settings::from_lookup(|k| {
        (k == "ACS_EMAIL_ENDPOINT").then(|| "https://acs.example".to_owned())
    })
    .expect_err("refused");
    assert!(err.to_string().contains("ACS_EMAIL_ENDPOINT"), "{err}");
}
