//! Chat fan-out: 100 clients of the local realtime hub in one group conversation, messages
//! posted over REST, each delivered to every client. Reports delivery latency (from the start
//! of the POST to the frame's arrival, per client) p50/p99/max, messages per second end to
//! end, messages lost (must be 0), and the handler's peak memory. The handler is the release
//! binary on embedded defaults. A message is in flight until every client has it, and warm-up
//! messages go first, unmeasured, as in `node benches/chat_fanout_clients.mjs`.
//!
//!     cargo bench --bench chat_fanout
//!     CLIENTS=200 MESSAGES=5000 IN_FLIGHT=20 WARMUP=500 cargo bench --bench chat_fanout

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
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

/// The places in flight: a message holds one from the start of its POST until every client
/// has it (as in `chat_fanout_clients.mjs`), so the senders cannot outrun the receivers.
struct InFlight {
    places: Semaphore,
    /// Clients that have each message so far, by clientMessageId.
    counts: Mutex<HashMap<String, usize>>,
    clients: usize,
}

impl InFlight {
    fn arrived(&self, id: &str) {
        let mut counts = self.counts.lock().unwrap();
        let count = counts.entry(id.to_owned()).or_default();
        *count += 1;
        if *count == self.clients {
            counts.remove(id);
            self.places.add_permits(1);
        }
    }

    /// Takes a place; after 10 s without one, goes on (a message was lost and never frees its
    /// place: the report counts it).
    async fn take(&self) {
        if let Ok(Ok(place)) = tokio::time::timeout(DELIVERY_TIMEOUT, self.places.acquire()).await {
            place.forget();
        }
    }
}

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let clients = env_or("CLIENTS", 100);
    let messages = env_or("MESSAGES", 2000);
    let in_flight = env_or("IN_FLIGHT", 10);
    let warmup = env_or("WARMUP", 200);
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
    let flight = Arc::new(InFlight {
        places: Semaphore::new(in_flight),
        counts: Mutex::new(HashMap::new()),
        clients,
    });
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
        let (arrivals, flight) = (arrivals.clone(), flight.clone());
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
                    flight.arrived(id);
                }
            }
        }));
    }
    // Let every connection finish its connect/connected round.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sender = people[1].0.clone();
    let url = format!("{api}/conversations/{conversation}/messages");
    // Posts messages `range`, each once it has a place in flight; answers when each started.
    let send = |range: std::ops::Range<usize>| {
        let (http, url, sender, flight) =
            (http.clone(), url.clone(), sender.clone(), flight.clone());
        async move {
            let mut posts = Vec::new();
            for n in range {
                flight.take().await;
                let (http, url, sender) = (http.clone(), url.clone(), sender.clone());
                posts.push(tokio::spawn(async move {
                    let id = format!("m{n}");
                    let at = Instant::now();
                    let body = json!({"clientMessageId": id, "text": format!("message {n}")});
                    post(&http, &url, Some(&sender), body).await;
                    (id, at)
                }));
            }
            futures::future::join_all(posts)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        }
    };
    // Warm-up: sent, delivered everywhere, then forgotten.
    let warm: Vec<String> = send(0..warmup)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let settled = Instant::now() + DELIVERY_TIMEOUT;
    while !flight.counts.lock().unwrap().is_empty() && Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for per_client in arrivals.lock().unwrap().iter_mut() {
        for id in &warm {
            per_client.remove(id);
        }
    }

    let sent = send(warmup..warmup + messages).await;
    let expected = clients * messages;
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let got: usize = arrivals.lock().unwrap().iter().map(HashMap::len).sum();
        if got >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent_at: HashMap<String, Instant> = sent.into_iter().collect();
    let first_post = sent_at.values().min().copied().unwrap();
    let mut last_arrival = first_post;
    let mut latencies: Vec<Duration> = Vec::with_capacity(expected);
    for per_client in arrivals.lock().unwrap().iter() {
        for (id, at) in per_client {
            if let Some(sent) = sent_at.get(id) {
                latencies.push(at.saturating_duration_since(*sent));
                last_arrival = last_arrival.max(*at);
            }
        }
    }
    let seconds = last_arrival.duration_since(first_post).as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "chat fan-out: {clients} clients, {messages} messages over REST \
         ({in_flight} in flight until delivered), \
         {} deliveries of {expected}, lost {}",
        latencies.len(),
        expected - latencies.len()
    );
    println!(
        "  {:.0} messages/s end to end; delivery latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        messages as f64 / seconds,
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
