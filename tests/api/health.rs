//! Health, readiness, OpenAPI and the shared HTTP behaviour (request ids, problem answers).

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Kind, spawn_app};
use crate::http::problem;

#[tokio::test]
async fn root_and_healthz_answer() {
    let app = spawn_app(Kind::Embedded).await;
    let root = app.get("/").await;
    assert_eq!(root.status(), 200);
    let health = app.get("/api/healthz").await;
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readyz_reports_every_dependency_as_embedded() {
    let app = spawn_app(Kind::Embedded).await;
    let response = app.get("/api/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    for dep in ["documents", "blobs", "queues", "secrets", "cache"] {
        assert_eq!(body["dependencies"][dep]["backend"], "embedded", "{dep}");
        assert_eq!(body["dependencies"][dep]["status"], "ok", "{dep}");
    }
}

#[tokio::test]
async fn readyz_reports_every_dependency_as_azure_on_the_emulators() {
    let app = spawn_app(Kind::Azure).await;
    let response = app.get("/api/readyz").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    for dep in ["documents", "blobs", "queues", "secrets", "cache"] {
        assert_eq!(body["dependencies"][dep]["backend"], "azure", "{dep}");
        assert_eq!(body["dependencies"][dep]["status"], "ok", "{dep}: {body}");
    }
}

#[tokio::test]
async fn readyz_names_what_is_down() {
    // Nothing listens on port 9 of loopback: Redis is configured but unreachable.
    let app = crate::helpers::spawn_app_with(
        Kind::Embedded,
        crate::helpers::Options {
            settings: vec![("REDIS_URL".into(), "redis://127.0.0.1:9/".into())],
            ..Default::default()
        },
    )
    .await;
    let response = app.get("/api/readyz").await;
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["dependencies"]["cache"]["backend"], "azure");
    assert_ne!(body["dependencies"]["cache"]["status"], "ok");
    assert_eq!(body["dependencies"]["documents"]["status"], "ok");
}

/// A storage account that lost a container (an operator's mistake, an account restored empty):
/// readyz checks every container the app needs, not only that the account answers, and makes
/// a missing one again (as a write would; named as `missing` when that fails).
#[tokio::test]
async fn readyz_makes_a_lost_blob_container_again() {
    let connection = crate::emulators::storage_account();
    let app = crate::helpers::spawn_app_with(
        Kind::Azure,
        crate::helpers::Options {
            settings: vec![("STORAGE_CONNECTION_STRING".into(), connection.clone())],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(app.get("/api/readyz").await.status(), 200);
    let container = |action: &str| {
        crate::emulators::node_script("blob-container.mjs", &[&connection, "thumbnails", action])
            .trim()
            .to_owned()
    };
    assert_eq!(container("delete"), "true");
    assert_eq!(container("exists"), "false");
    // Past the 5 s the last probe's answer is served for.
    tokio::time::sleep(portal_api::health::READY_CACHE + Duration::from_millis(200)).await;
    let response = app.get("/api/readyz").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["dependencies"]["blobs"]["status"], "ok", "{body}");
    assert_eq!(container("exists"), "true");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_a_hostile_one_replaced() {
    let app = spawn_app(Kind::Embedded).await;
    let echoed = app
        .client
        .get(app.url("/api/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    let replaced = app
        .client
        .get(app.url("/api/healthz"))
        .header("x-request-id", "a b <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "a b <script>");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app(Kind::Embedded).await;
    problem(app.get("/api/nope").await, 404, "NOT_FOUND").await;
    let wrong_method = app
        .client
        .delete(app.url("/api/healthz"))
        .send()
        .await
        .unwrap();
    problem(wrong_method, 405, "METHOD_NOT_ALLOWED").await;
}

#[tokio::test]
async fn openapi_is_3_1_and_lists_the_routes() {
    let app = spawn_app(Kind::Embedded).await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/healthz"]["get"].is_object());
    assert!(doc["paths"]["/api/readyz"]["get"]["responses"]["503"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = spawn_app(Kind::Embedded).await;
    // A client that leaves the body compressed, so the header is still there to see.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let response = raw
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    // A small answer (a few hundred bytes) is not worth a compressor.
    let token = crate::http::user(&app, "ada").await;
    let small = raw
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(!small.headers().contains_key("content-encoding"));
    let length = small.bytes().await.unwrap().len();
    assert!(length > 32 && length < 1024, "{length} bytes");
}
