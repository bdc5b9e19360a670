//! Telemetry reaches Application Insights: the handler binary, started as the Functions host
//! would start it, exports requests, dependency calls and custom metrics through OpenTelemetry.
//!
//! Application Insights cannot run here, so a hand-written stand-in takes its place. It follows
//! the documented ingestion protocol ("Breeze", the endpoint every Application Insights SDK
//! posts to): `POST {IngestionEndpoint}/v2/track` with a gzip-compressed JSON array of
//! envelopes (`name`, `iKey`, `tags`, `data: {baseType, baseData}`), answered 200 with
//! `{itemsReceived, itemsAccepted, errors: []}`.

use std::io::Read;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::emulators::emulators;
use crate::keyvault_fake::serve_tls;

type Received = Arc<Mutex<Vec<Value>>>;

async fn track(State(received): State<Received>, body: Bytes) -> axum::Json<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    let items: Vec<Value> = serde_json::from_str(&text).expect("a JSON array of envelopes");
    let n = items.len();
    received.lock().unwrap().extend(items);
    axum::Json(json!({"itemsReceived": n, "itemsAccepted": n, "errors": []}))
}

/// The stand-in, over HTTPS (the exporter upgrades every ingestion endpoint to https); returns
/// its endpoint, the file holding its certificate, and what it received.
async fn ingestion(dir: &std::path::Path) -> (String, std::path::PathBuf, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/v2/track", post(track))
        .with_state(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let certificate = dir.join("ingestion.pem");
    std::fs::write(&certificate, serve_tls(listener, app).await).unwrap();
    (url, certificate, received)
}

struct Handler(std::process::Child);

impl Drop for Handler {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the handler binary in host mode on a free port with only `settings` (and PATH) in
/// its environment, and waits until it answers. Its log lines (stdout) go to `log`; its stderr
/// stays visible for a failing test.
async fn start_handler(
    log: &std::path::Path,
    settings: &[(&str, &std::ffi::OsStr)],
) -> (Handler, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_handler"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("SCRIPT_ROOT", env!("CARGO_MANIFEST_DIR"))
        .envs(settings.iter().copied())
        .stdout(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the handler");
    let handler = Handler(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http.get(format!("{base}/")).send().await.is_ok() {
            return (handler, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the handler did not answer on {base}")
}

/// Waits until an envelope matching `pick` has arrived.
async fn arrived(received: &Received, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        if let Some(found) = received.lock().unwrap().iter().find(|e| pick(e)) {
            return found.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = received.lock().unwrap().clone();
    panic!("no {what} arrived; received {}", Value::Array(all))
}

/// The sum of every exported value of the metric `name`.
fn metric_sum(received: &Received, name: &str) -> f64 {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|e| base_type(e) == "MetricData")
        .flat_map(|e| e["data"]["baseData"]["metrics"].as_array().cloned())
        .flatten()
        .filter(|m| m["name"] == name)
        .filter_map(|m| m["value"].as_f64())
        .sum()
}

fn base_type(envelope: &Value) -> &str {
    envelope["data"]["baseType"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn requests_dependencies_and_metrics_reach_application_insights() {
    let data = tempfile::tempdir().unwrap();
    let (endpoint, certificate, received) = ingestion(data.path()).await;
    let emulators = emulators();
    let database = format!("telemetry{}", uuid::Uuid::new_v4().simple());
    let prefix = format!("telemetry-{}", uuid::Uuid::new_v4());
    let connection_string = format!(
        "InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint={endpoint}"
    );
    let log = data.path().join("handler.log");
    let (_handler, base) = start_handler(
        &log,
        &[
            ("DATA_DIR", data.path().as_os_str()),
            ("REDIS_URL", emulators.redis_url.as_ref()),
            ("COSMOS_ENDPOINT", emulators.cosmos_endpoint.as_ref()),
            ("COSMOS_KEY", emulators.cosmos_key.as_ref()),
            ("COSMOS_DATABASE", database.as_ref()),
            ("CACHE_KEY_PREFIX", prefix.as_ref()),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                connection_string.as_ref(),
            ),
            // The handler trusts the system's roots, which this names (rustls-native-certs).
            ("SSL_CERT_FILE", certificate.as_os_str()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300".as_ref()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".as_ref()),
            ("LOG_FORMAT", "json".as_ref()),
        ],
    )
    .await;
    let http = reqwest::Client::new();

    // A forwarded request with the host's trace context (the course list: Cosmos DB calls),
    // and two failed sign-ins (the rate limiter's counters live in Redis).
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = http
        .get(format!("{base}/api/v1/courses"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .header("x-azure-functions-invocationid", "invocation-1")
        .header("x-request-id", "request-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for _ in 0..2 {
        let response = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "nobody@example.com", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }

    let request = arrived(&received, "request for the course list", |e| {
        base_type(e) == "RequestData" && e["data"]["baseData"]["name"] == "GET /api/v1/courses"
    })
    .await;
    assert_eq!(request["data"]["baseData"]["responseCode"], "200");
    assert_eq!(
        request["tags"]["ai.operation.id"], trace_id,
        "the request joins the host's trace"
    );
    assert_eq!(request["tags"]["ai.cloud.role"], "portal-api");

    let login = arrived(&received, "request for the login", |e| {
        base_type(e) == "RequestData" && e["data"]["baseData"]["name"] == "POST /api/v1/auth/login"
    })
    .await;
    assert_eq!(login["data"]["baseData"]["responseCode"], "401");

    let redis = arrived(&received, "redis dependency", |e| {
        base_type(e) == "RemoteDependencyData" && e["data"]["baseData"]["type"] == "redis"
    })
    .await;
    assert!(
        redis["data"]["baseData"]["target"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{redis}"
    );
    let cosmos = arrived(&received, "Cosmos DB dependency", |e| {
        base_type(e) == "RemoteDependencyData" && e["data"]["baseData"]["type"] == "cosmos"
    })
    .await;
    assert!(
        cosmos["data"]["baseData"]["name"]
            .as_str()
            .unwrap()
            .ends_with(" courses")
            || cosmos["data"]["baseData"]["name"]
                .as_str()
                .unwrap()
                .ends_with(" users"),
        "named by operation and container: {cosmos}"
    );
    assert_eq!(
        cosmos["tags"]["ai.operation.id"], trace_id,
        "dependencies are children of their request"
    );

    // The log line of that request is JSON with the ids an operator searches by.
    let lines = std::fs::read_to_string(&log).unwrap();
    let served = lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "served" && l["span"]["request_id"] == "request-1")
        .unwrap_or_else(|| panic!("no JSON 'served' line for request-1 in:\n{lines}"));
    assert_eq!(served["span"]["invocation_id"], "invocation-1");
    assert_eq!(
        served["span"]["traceparent"],
        format!("00-{trace_id}-00f067aa0ba902b7-01")
    );
    assert_eq!(served["status"], 200);

    // Counters are exported as deltas (what Application Insights expects): they add up.
    let mut counted = 0.0;
    for _ in 0..200 {
        counted = metric_sum(&received, "auth.failures");
        if counted >= 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, 2.0, "auth.failures counts both failed sign-ins");
    let metric = arrived(&received, "a metric", |e| base_type(e) == "MetricData").await;
    assert_eq!(
        metric["iKey"], "00000000-0000-4000-8000-000000000000",
        "sent with the connection string's key"
    );
}

#[tokio::test]
async fn a_bad_connection_string_leaves_telemetry_off_and_the_api_up() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("handler.log");
    let (_handler, base) = start_handler(
        &log,
        &[
            ("DATA_DIR", data.path().as_os_str()),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "not a connection string".as_ref(),
            ),
        ],
    )
    .await;
    let health = reqwest::get(format!("{base}/api/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

/// Share-link ids and invite tokens travel in paths and queries: logs and telemetry name the
/// route template instead, and a path no route matched is not named at all.
#[tokio::test]
async fn no_path_parameter_or_query_reaches_logs_or_telemetry() {
    let data = tempfile::tempdir().unwrap();
    let (endpoint, certificate, received) = ingestion(data.path()).await;
    let connection_string = format!(
        "InstrumentationKey=00000000-0000-4000-8000-000000000000;IngestionEndpoint={endpoint}"
    );
    let log = data.path().join("handler.log");
    let (_handler, base) = start_handler(
        &log,
        &[
            ("DATA_DIR", data.path().as_os_str()),
            (
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                connection_string.as_ref(),
            ),
            ("SSL_CERT_FILE", certificate.as_os_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".as_ref()),
            ("LOG_FORMAT", "json".as_ref()),
            ("RUST_LOG", "debug,hyper=warn,h2=warn,rustls=warn".as_ref()),
        ],
    )
    .await;
    const SECRETS: [&str; 4] = [
        "SecretLinkId7f3a",
        "SecretInviteTok9c2e",
        "SecretQuery5d1b",
        "SecretUnmatched0e8f",
    ];
    let http = reqwest::Client::new();
    for (path, id) in [
        (
            "/api/v1/share/SecretLinkId7f3a?sig=SecretQuery5d1b",
            "share-1",
        ),
        (
            "/api/v1/auth/invites/SecretInviteTok9c2e?token=SecretQuery5d1b",
            "invite-1",
        ),
        (
            "/api/v1/nothing/SecretUnmatched0e8f?token=SecretQuery5d1b",
            "unmatched-1",
        ),
    ] {
        let response = http
            .get(format!("{base}{path}"))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{path}");
    }

    for template in [
        "GET /api/v1/share/{linkId}",
        "GET /api/v1/auth/invites/{id}",
    ] {
        arrived(&received, template, |e| {
            base_type(e) == "RequestData" && e["data"]["baseData"]["name"] == template
        })
        .await;
    }
    let unmatched = arrived(&received, "the unmatched request", |e| {
        base_type(e) == "RequestData" && e["data"]["baseData"]["responseCode"] == "404"
            // The exporter makes the path absolute.
            && e["data"]["baseData"]["url"] == "/(unmatched)"
    })
    .await;
    assert_eq!(unmatched["data"]["baseData"]["name"], "GET", "{unmatched}");

    let lines = std::fs::read_to_string(&log).unwrap();
    let served = |id: &str| {
        lines
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == "served" && l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no 'served' line for {id} in:\n{lines}"))
    };
    assert_eq!(served("share-1")["span"]["path"], "/api/v1/share/{linkId}");
    assert_eq!(
        served("invite-1")["span"]["path"],
        "/api/v1/auth/invites/{id}"
    );
    assert_eq!(served("unmatched-1")["span"]["path"], "(unmatched)");

    let telemetry = Value::Array(received.lock().unwrap().clone()).to_string();
    for secret in SECRETS {
        for line in lines.lines() {
            assert!(!line.contains(secret), "{secret} logged: {line}");
        }
        assert!(
            !telemetry.contains(secret),
            "{secret} sent to telemetry: {telemetry}"
        );
    }
}
