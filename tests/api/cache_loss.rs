//! Losing the cache loses no security state: a session ended before stays refused, and an
//! account locked before stays locked, when the cache comes back empty. In Azure that is a
//! Redis restart, flush or failover (here: this test's own redis-server restarted without
//! persistence); locally, the embedded cache is empty at every start of the handler (here: a
//! second handler on the first one's data folder).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::account_security::{access, login};
use crate::faults::{app_on, own_redis};
use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::{PASSWORD, address, post, problem, signup};

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// What is set up before the cache is lost: a session ended, an account locked, and a session
/// that is still live.
struct Before {
    ended: String,
    live: String,
    locked_email: String,
}

async fn before(app: &TestApp) -> Before {
    let ended = access(&signup(app, &address(app, "ended"), "Eve").await);
    let logout = post(app, "/api/v1/auth/logout", Some(&ended), json!({})).await;
    assert_eq!(logout.status(), 204);
    problem(me(app, &ended).await, 401, "TOKEN_REVOKED").await;

    let locked_email = address(app, "locked");
    signup(app, &locked_email, "Lou").await;
    for _ in 0..5 {
        let wrong = login(app, &locked_email, "wrong-password-here").await;
        problem(wrong, 401, "INVALID_CREDENTIALS").await;
    }
    problem(
        login(app, &locked_email, PASSWORD).await,
        429,
        "ACCOUNT_LOCKED",
    )
    .await;

    let live = access(&signup(app, &address(app, "live"), "Liv").await);
    Before {
        ended,
        live,
        locked_email,
    }
}

/// On a handler whose cache lost everything: the ended session stays ended, the live one
/// still works, the locked account stays locked.
async fn after(app: &TestApp, before: &Before) {
    // The handler may take a few seconds to reach a restarted server (its breaker cools down).
    let started = Instant::now();
    let live = loop {
        let response = me(app, &before.live).await;
        if response.status() != 503 || started.elapsed() > Duration::from_secs(10) {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(live.status(), 200, "a live session still works");
    problem(me(app, &before.ended).await, 401, "TOKEN_REVOKED").await;
    let locked = login(app, &before.locked_email, PASSWORD).await;
    assert!(locked.headers().contains_key("retry-after"));
    problem(locked, 429, "ACCOUNT_LOCKED").await;
}

#[tokio::test]
async fn an_empty_redis_keeps_revocations_and_lockouts() {
    let mut redis = own_redis();
    let app = app_on(&redis).await;
    let set_up = before(&app).await;
    redis.stop();
    redis.restart();
    after(&app, &set_up).await;
}

#[tokio::test]
async fn a_restarted_local_handler_keeps_revocations_and_lockouts() {
    let first = spawn_app_with(Kind::Embedded, Options::default()).await;
    let set_up = before(&first).await;
    let data_dir = first.data_dir.path().display().to_string();
    let restarted = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("DATA_DIR".to_owned(), data_dir)],
            ..Options::default()
        },
    )
    .await;
    after(&restarted, &set_up).await;
}
