//! Login under load: 100 concurrent logins against the release handler with the production
//! argon2id parameters (64 MiB, t=3, p=4) and the default hashing concurrency (the core
//! count). Reports throughput, latency and the handler's peak memory (VmHWM), which stays
//! bounded because extra logins wait for a hashing slot instead of each allocating 64 MiB.
//!
//!     cargo bench --bench login_load
//!     LOGINS=200 ARGON2_MAX_CONCURRENCY=8 cargo bench --bench login_load

use std::time::Instant;

use serde_json::{Value, json};

mod support;
use support::{Handler, env_or, peak_rss_mib};

#[tokio::main]
async fn main() {
    let logins = env_or("LOGINS", 100);
    let data = tempfile::tempdir().unwrap();
    let child = Handler::start(
        data.path(),
        &[
            ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
            ("RATE_LIMIT_GENERAL_PER_MINUTE", "1000000"),
        ],
    )
    .await;
    let base = format!("{}/api/v1/auth", child.base);
    let client = reqwest::Client::new();
    let credentials = json!({"email": "load@example.com", "password": "violet-harbor-sings-42"});
    let signup = client
        .post(format!("{base}/signup"))
        .json(&json!({"email": "load@example.com", "password": "violet-harbor-sings-42", "name": "Load"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let baseline = peak_rss_mib(child.pid());

    let started = Instant::now();
    let tasks: Vec<_> = (0..logins)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/login");
            let body = credentials.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                let response = client.post(url).json(&body).send().await.unwrap();
                let status = response.status();
                let _: Value = response.json().await.unwrap();
                (status.as_u16(), t.elapsed())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = std::collections::BTreeMap::<u16, usize>::new();
    for task in tasks {
        let (status, latency) = task.await.unwrap();
        if status == 200 {
            latencies.push(latency);
        } else {
            *failed.entry(status).or_default() += 1;
        }
    }
    if !failed.is_empty() {
        println!("not signed in: {failed:?} (status: count)");
    }
    assert!(!latencies.is_empty(), "no login succeeded");
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let peak = peak_rss_mib(child.pid());
    println!(
        "{logins} concurrent logins, {} signed in: {:.1} logins/s, latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pick(0.5).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0,
        latencies[latencies.len() - 1].as_secs_f64() * 1000.0,
    );
    println!(
        "handler peak memory: {peak:.0} MiB (after sign-up, before the burst: {baseline:.0} MiB)"
    );
}
