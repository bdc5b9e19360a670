//! Cosmos DB paused (SIGSTOP: a hung server) and stopped. The test app gets a cosmosdb-server
//! of its own (tests/emulators/cosmos-server.mjs) so the shared one keeps serving the other
//! tests. During the fault, signed-in requests answer 503 `UNAVAILABLE`: the first few when
//! the 2 s documents deadline runs out, then at once while the breaker is open; readyz names
//! the documents store. After a pause the handler recovers without a restart and nothing is
//! lost; a stop is answered as fast (see the test for why its recovery is not checked here).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::faults::{expect_503s, expect_recovery, me};
use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::{address, signup_token};
use crate::own_server::OwnServer;

/// A cosmosdb-server of this test's own.
fn own_cosmos() -> OwnServer {
    OwnServer::start("cosmos-server", |port| {
        let mut command = Command::new("node");
        command
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulators/cosmos-server.mjs"),
            )
            .arg(port.to_string());
        command
    })
}

/// The answer times while the breaker is closed are bound by the 2 s deadline; once it is
/// open (after BREAKER_FAILURES = 5), each answer is immediate.
fn check_times(times: &[Duration], what: &str) {
    let slowest = times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_millis(2600),
        "{what}: slowest {slowest:?}"
    );
    let after_open = times[6..].iter().max().copied().unwrap_or_default();
    assert!(
        after_open < Duration::from_secs(1),
        "{what}: breaker open, yet {after_open:?}"
    );
}

async fn name_of(app: &TestApp, token: &str) -> Value {
    let me: Value = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["name"].clone()
}

#[tokio::test]
async fn a_paused_or_stopped_cosmos_answers_fast_and_a_pause_recovers() {
    let mut cosmos = own_cosmos();
    let settings = vec![
        (
            "COSMOS_ENDPOINT".to_owned(),
            format!("https://127.0.0.1:{}/", cosmos.port),
        ),
        // The production deadlines, which the shared test settings widen.
        ("DOCUMENTS_TIMEOUT_MS".to_owned(), "2000".to_owned()),
        ("DOCUMENTS_QUERY_TIMEOUT_MS".to_owned(), "5000".to_owned()),
    ];
    let app = spawn_app_with(
        Kind::Azure,
        Options {
            settings,
            ..Options::default()
        },
    )
    .await;
    let token = signup_token(&app, &address(&app, "doc"), "Dora").await;
    assert_eq!(me(&app, &token).await.0, 200);

    cosmos.signal("-STOP");
    let times = expect_503s(&app, &token, "documents", "paused").await;
    check_times(&times, "paused");
    cosmos.signal("-CONT");
    expect_recovery(&app, &token, "documents paused").await;
    assert_eq!(
        name_of(&app, &token).await,
        "Dora",
        "nothing lost in a pause"
    );

    // Stopped: answered at once (the connection is refused). The emulator keeps its data in
    // memory only, so a restart comes back empty, and it then fails every call on the missing
    // database with its own 500 (a TypeError inside cosmosdb-server) where Cosmos DB answers
    // 404: recovery from an empty account is not something this emulator can show.
    cosmos.stop();
    let times = expect_503s(&app, &token, "documents", "stopped").await;
    check_times(&times, "stopped");
}
