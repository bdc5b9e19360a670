//! The signed-in request under load: `GET /api/v1/users/me` with a bearer token against
//! `GET /api/healthz` on the same release handler (embedded stores) in the same run, so the
//! ratio says what authentication and the user read cost next to the bare HTTP stack.
//! Concurrent keep-alive connections (64 by default) each send requests back to back for a
//! few seconds (8 by default); the load generator runs in this process on the same machine,
//! as `wrk` would.
//!
//!     cargo bench --bench me_load
//!     CONNECTIONS=128 SECONDS=15 cargo bench --bench me_load

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::{Handler, env_or};

struct Run {
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `connections` loops, each on its own keep-alive connection, for `seconds`.
async fn load(url: &str, token: Option<&str>, connections: usize, seconds: u64) -> Run {
    let url: Arc<str> = url.into();
    let token: Option<Arc<str>> = token.map(Into::into);
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, token) = (url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut times = Vec::new();
            while Instant::now() < until {
                let mut request = client.get(&*url);
                if let Some(token) = &token {
                    request = request.bearer_auth(&**token);
                }
                let sent = Instant::now();
                let response = request.send().await.expect("the handler answers");
                assert_eq!(response.status(), 200, "{url}");
                response.bytes().await.unwrap();
                times.push(sent.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Run {
        requests: times.len(),
        per_second: times.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn report(name: &str, run: &Run) {
    println!(
        "{name:<22} {:>8} requests  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        run.requests,
        run.per_second,
        run.p50.as_secs_f64() * 1000.0,
        run.p99.as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let connections = env_or("CONNECTIONS", 64);
    let seconds = env_or("SECONDS", 8) as u64;
    let data = tempfile::tempdir().unwrap();
    let handler = Handler::start(
        data.path(),
        &[
            ("RATE_LIMIT_GENERAL_PER_MINUTE", "100000000"),
            ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
        ],
    )
    .await;
    let signup: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/signup", handler.base))
        .json(&json!({"email": "me-load@example.com", "password": "violet-harbor-sings-42", "name": "Load"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["accessToken"]
        .as_str()
        .expect("signed up")
        .to_owned();

    // A short warm-up of each, then the measured runs.
    let healthz = format!("{}/api/healthz", handler.base);
    let me = format!("{}/api/v1/users/me", handler.base);
    load(&healthz, None, connections, 1).await;
    load(&me, Some(&token), connections, 1).await;
    println!("{connections} connections, {seconds} s each, release handler, embedded stores");
    let bare = load(&healthz, None, connections, seconds).await;
    report("GET /api/healthz", &bare);
    let signed_in = load(&me, Some(&token), connections, seconds).await;
    report("GET /api/v1/users/me", &signed_in);
    println!(
        "users/me at {:.0}% of healthz throughput",
        100.0 * signed_in.per_second / bare.per_second
    );
}
