//! Chat fan-out: 100 clients of the local realtime hub in one group conversation, messages
//! posted over REST, each delivered to every client. Reports delivery latency (from the start
//! of the POST to the frame's arrival, per client) p50/p99/max, messages lost (must be 0), and
//! the handler's peak memory. The handler is the release binary on embedded defaults.
//!
//!     cargo bench --bench chat_fanout
//!     CLIENTS=200 MESSAGES=500 IN_FLIGHT=20 cargo bench --bench chat_fanout

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod support;
use support::{Handler, env_or, peak_rss_mib};

async fn post(client: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Arrival times of `message.new` frames by clientMessageId, per client.
type Arrivals = Arc<Mutex<Vec<HashMap<String, Instant>>>>;

#[tokio::main]
async fn main() {
    let clients = env_or("CLIENTS", 100);
    let messages = env_or("MESSAGES", 200);
    let in_flight = env_or("IN_FLIGHT", 10);
    let data = tempfile::tempdir().unwrap();
    let handler = Handler::start(
        data.path(),
        &[
            ("RATE_LIMIT_AUTH_PER_MINUTE", "1000000"),
            ("RATE_LIMIT_GENERAL_PER_MINUTE", "1000000"),
            // Sign-ups are set-up here, not what is measured.
            ("ARGON2_MEMORY_KIB", "1024"),
            ("ARGON2_ITERATIONS", "1"),
            ("ARGON2_PARALLELISM", "1"),
        ],
    )
    .await;
    let pid = handler.pid();
    let api = format!("{}/api/v1", handler.base);
    let http = reqwest::Client::new();

    let mut people = Vec::new();
    for n in 0..clients {
        let signup = json!({"email": format!("u{n}@example.com"), "password": "violet-harbor-sings-42", "name": format!("U{n}")});
        let body = post(&http, &format!("{api}/auth/signup"), None, signup).await;
        people.push((
            body["accessToken"].as_str().unwrap().to_owned(),
            body["user"]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let others: Vec<&str> = people[1..].iter().map(|(_, id)| id.as_str()).collect();
    let group = post(
        &http,
        &format!("{api}/conversations"),
        Some(&people[0].0),
        json!({"type": "group", "participantIds": others, "name": "Everyone"}),
    )
    .await;
    let conversation = group["id"].as_str().unwrap().to_owned();

    let arrivals: Arrivals = Arc::new(Mutex::new(vec![HashMap::new(); clients]));
    let mut readers = Vec::new();
    for (n, (token, _)) in people.iter().enumerate() {
        let negotiated: Value = http
            .get(format!("{api}/realtime/negotiate"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut request = negotiated["url"]
            .as_str()
            .unwrap()
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "json.webpubsub.azure.v1".parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let (_sink, mut stream) = socket.split();
        let arrivals = arrivals.clone();
        readers.push(tokio::spawn(async move {
            let _keep_open = _sink;
            while let Some(Ok(frame)) = stream.next().await {
                let now = Instant::now();
                let Ok(text) = frame.into_text() else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if value["data"]["type"] == "message.new" {
                    let id = value["data"]["data"]["clientMessageId"]
                        .as_str()
                        .unwrap_or_default();
                    arrivals.lock().unwrap()[n].insert(id.to_owned(), now);
                }
            }
        }));
    }
    // Let every connection finish its connect/connected round.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sender = people[1].0.clone();
    let url = format!("{api}/conversations/{conversation}/messages");
    let started = Instant::now();
    let sent: Vec<(String, Instant)> = futures::stream::iter(0..messages)
        .map(|n| {
            let (http, url, sender) = (http.clone(), url.clone(), sender.clone());
            async move {
                let id = format!("m{n}");
                let at = Instant::now();
                post(
                    &http,
                    &url,
                    Some(&sender),
                    json!({"clientMessageId": id, "text": format!("message {n}")}),
                )
                .await;
                (id, at)
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let posting = started.elapsed();
    let expected = clients * messages;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got: usize = arrivals.lock().unwrap().iter().map(HashMap::len).sum();
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent_at: HashMap<String, Instant> = sent.into_iter().collect();
    let mut latencies: Vec<Duration> = Vec::with_capacity(expected);
    for per_client in arrivals.lock().unwrap().iter() {
        for (id, at) in per_client {
            if let Some(sent) = sent_at.get(id) {
                latencies.push(at.saturating_duration_since(*sent));
            }
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "chat fan-out: {clients} clients, {messages} messages over REST ({in_flight} in flight), \
         {} deliveries of {expected}, lost {}",
        latencies.len(),
        expected - latencies.len()
    );
    println!(
        "  posting took {:.2} s ({:.0} messages/s); delivery latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        posting.as_secs_f64(),
        messages as f64 / posting.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!("  handler peak memory {:.1} MiB", peak_rss_mib(pid));
    for reader in readers {
        reader.abort();
    }
    assert_eq!(latencies.len(), expected, "messages were lost");
}
