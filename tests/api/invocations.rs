//! The custom-handler door: `POST /<FunctionName>` with the JSON the Functions host sends.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Kind, fixture, spawn_app};
use crate::http::problem;

#[tokio::test]
async fn timer_fixture_runs_cleanup_and_answers_the_host_shape() {
    let app = spawn_app(Kind::Embedded).await;
    let response = app.post_raw("/cleanup", &fixture("timer.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let reply: Value = response.json().await.unwrap();
    assert!(reply["Outputs"].is_object(), "{reply}");
    assert!(
        reply["Logs"].as_array().unwrap()[0]
            .as_str()
            .unwrap()
            .contains("cleanup")
    );
    assert!(reply["ReturnValue"].is_object(), "{reply}");
}

#[tokio::test]
async fn function_names_match_ignoring_case() {
    let app = spawn_app(Kind::Embedded).await;
    let response = app.post_raw("/Cleanup", &fixture("timer.json")).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn malformed_invocations_are_400_problems() {
    let app = spawn_app(Kind::Embedded).await;
    problem(
        app.post_raw("/cleanup", "{not json").await,
        400,
        "MALFORMED_INVOCATION",
    )
    .await;
    problem(
        app.post_raw("/cleanup", r#"{"Data": 5}"#).await,
        400,
        "MALFORMED_INVOCATION",
    )
    .await;
    problem(
        app.post_raw("/cleanup", "[]").await,
        400,
        "MALFORMED_INVOCATION",
    )
    .await;
}

#[tokio::test]
async fn unknown_functions_are_404_problems() {
    let app = spawn_app(Kind::Embedded).await;
    problem(
        app.post_raw("/no-such-function", &fixture("timer.json"))
            .await,
        404,
        "FUNCTION_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn cleanup_sweeps_expired_documents_from_the_embedded_store() {
    let app = spawn_app(Kind::Embedded).await;
    let docs = &app.stores().documents;
    docs.create("tokens", "old", json!({"id": "old", "ttl": 1}))
        .await
        .unwrap();
    docs.create("tokens", "live", json!({"id": "live", "ttl": 3600}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let reply: Value = app
        .post_raw("/cleanup", &fixture("timer.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["ReturnValue"]["expiredDocuments"], 1, "{reply}");
    assert!(docs.get("tokens", "live", "live").await.unwrap().is_some());

    // The run is recorded where an operator can see it.
    let run = docs
        .get("jobs", "cleanup", "cleanup")
        .await
        .unwrap()
        .expect("job record");
    assert_eq!(run.value["lastResult"]["expiredDocuments"], 1);
    assert!(run.value["lastRunAt"].is_string());
}
