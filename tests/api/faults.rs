//! Failing fast when a dependency is down or hung. Each test runs its own redis-server (the
//! shared emulators serve every other test, so they are never stopped), stops it and pauses it
//! (SIGSTOP, a hung server), and checks that requests answer within a second with a 503
//! problem, that readyz names the dependency and its open breaker, and that the handler
//! recovers by itself once the server is back.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::signup_token;
use crate::own_server::OwnServer;

/// A redis-server of this test's own, empty (no persistence).
pub fn own_redis() -> OwnServer {
    OwnServer::start("redis-server", |port| {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        command
    })
}

pub async fn app_on(redis: &OwnServer) -> TestApp {
    let settings = vec![
        (
            "REDIS_URL".to_owned(),
            format!("redis://127.0.0.1:{}", redis.port),
        ),
        // The production deadline, which the shared test settings widen.
        ("CACHE_TIMEOUT_MS".to_owned(), "250".to_owned()),
    ];
    spawn_app_with(
        Kind::Azure,
        Options {
            settings,
            ..Options::default()
        },
    )
    .await
}

/// `GET users/me` signed in: its status, problem code and how long it took.
pub async fn me(app: &TestApp, token: &str) -> (u16, Option<String>, Duration) {
    let started = Instant::now();
    let response = app
        .client
        .get(format!("{}/api/v1/users/me", app.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("users/me answers");
    let took = started.elapsed();
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status == 503 {
        assert!(retry_after, "a 503 says when to retry");
    }
    (status, body["code"].as_str().map(str::to_owned), took)
}

/// During the fault: every signed-in answer is a fast 503 `UNAVAILABLE` (never a revoked
/// token let in), while the public catalog degrades to the documents store and answers.
async fn expect_fast_503s(app: &TestApp, token: &str, what: &str) {
    let times = expect_503s(app, token, "cache", what).await;
    let slowest = times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(1),
        "{what}: slowest answer {slowest:?}"
    );
    let started = Instant::now();
    let catalog = app.get("/api/v1/courses").await;
    let took = started.elapsed();
    assert_eq!(
        catalog.status(),
        200,
        "{what}: the catalog without its cache"
    );
    // The catalog's own query is the shared emulator's time, which a busy machine stretches.
    assert!(
        took < Duration::from_secs(5),
        "{what}: the catalog took {took:?}"
    );
    println!("cache {what}: the catalog answered in {took:?}");
}

/// Twelve signed-in requests during a fault of `dependency`: each a 503 `UNAVAILABLE` with
/// `Retry-After`; readyz says the dependency is not ok and its breaker open. Answers the times.
pub async fn expect_503s(
    app: &TestApp,
    token: &str,
    dependency: &str,
    what: &str,
) -> Vec<Duration> {
    let mut times = Vec::new();
    for _ in 0..12 {
        let (status, code, took) = me(app, token).await;
        assert_eq!(status, 503, "{what}: users/me while {dependency} is out");
        assert_eq!(code.as_deref(), Some("UNAVAILABLE"));
        times.push(took);
    }
    println!("{dependency} {what}: answer times {times:?}");
    let readyz: Value = app
        .client
        .get(format!("{}/api/readyz", app.address))
        .send()
        .await
        .expect("readyz answers")
        .json()
        .await
        .expect("readyz answers JSON");
    assert_ne!(
        readyz["dependencies"][dependency]["status"], "ok",
        "{readyz}"
    );
    assert_eq!(
        readyz["dependencies"][dependency]["breaker"], "open",
        "{readyz}"
    );
    times
}

/// After the fault: requests succeed again within 10 s, with no restart of the handler.
pub async fn expect_recovery(app: &TestApp, token: &str, what: &str) {
    let started = Instant::now();
    loop {
        if me(app, token).await.0 == 200 {
            println!("{what}: recovered in {:?}", started.elapsed());
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: not recovered after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_stopped_or_hung_cache_answers_fast_and_recovers() {
    let mut redis = own_redis();
    let app = app_on(&redis).await;
    let token = signup_token(&app, "fault-cache@example.com", "Fay").await;
    assert_eq!(me(&app, &token).await.0, 200);

    redis.stop();
    expect_fast_503s(&app, &token, "stopped").await;
    redis.restart();
    expect_recovery(&app, &token, "cache stopped").await;

    redis.signal("-STOP");
    expect_fast_503s(&app, &token, "paused").await;
    redis.signal("-CONT");
    expect_recovery(&app, &token, "cache paused").await;
}
