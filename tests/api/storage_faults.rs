//! Azure Storage down or hung. Each test gives its app one Azurite service of its own (the
//! shared one serves every other test) and stops or pauses it.
//!
//! - The queue service down loses no work: the requests that hand work to queue functions (an
//!   upload's `complete`, a sign-up's verification email) still answer at once; readyz names
//!   the queues; once the service is back, the outbox sweep queues what was recorded, so the
//!   thumbnail becomes `ready` and the email arrives.
//! - The blob service stopped or paused: a request that needs it answers 503 `UNAVAILABLE`
//!   fast (within the 2 s deadline, then at once with the breaker open), the rest of the API
//!   keeps working, readyz names the blobs, and after it the same request succeeds without a
//!   restart, with every blob written before still there.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::files::{complete, get_file, new_ticket, png, put};
use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::{address, eventually, mailbox, signup, signup_token};
use crate::own_server::OwnServer;

/// One Azurite service (`blob` or `queue`) of this test's own, holding the test account of
/// the connection string it starts from, with its data in a folder so a restart keeps it.
struct OwnAzurite {
    service: &'static str,
    account: String,
    server: OwnServer,
    _data: tempfile::TempDir,
}

fn field<'a>(connection: &'a str, name: &str) -> &'a str {
    connection
        .split(';')
        .find_map(|part| part.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{name} in {connection}"))
}

impl OwnAzurite {
    fn start(service: &'static str, connection: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let account = field(connection, "AccountName").to_owned();
        let accounts = format!("{account}:{}", field(connection, "AccountKey"));
        let location = data.path().to_owned();
        let main = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
            "tests/emulators/node_modules/azurite/dist/src/{service}/main.js"
        ));
        let name = if service == "blob" {
            "azurite-blob"
        } else {
            "azurite-queue"
        };
        let server = OwnServer::start(name, move |port| {
            let mut command = Command::new("node");
            command
                .arg(&main)
                .args([format!("--{service}Host"), "127.0.0.1".into()])
                .args([format!("--{service}Port"), port.to_string()])
                .args([
                    "--skipApiVersionCheck",
                    "--loose",
                    "--silent",
                    "--disableTelemetry",
                ])
                .arg("--location")
                .arg(&location)
                .env("AZURITE_ACCOUNTS", &accounts)
                .env_remove("AZURITE_DB");
            command
        });
        OwnAzurite {
            service,
            account,
            server,
            _data: data,
        }
    }

    /// `connection` with this service as its blob or queue endpoint.
    fn connection(&self, connection: &str) -> String {
        let name = if self.service == "blob" {
            "BlobEndpoint"
        } else {
            "QueueEndpoint"
        };
        let shared = format!("{name}={}", field(connection, name));
        let own = format!(
            "{name}=http://127.0.0.1:{}/{}",
            self.server.port, self.account
        );
        connection.replace(&shared, &own)
    }
}

/// A test app on the shared Azurite account with one of its services replaced by `own`, and
/// the production storage deadline (the shared test settings widen it).
async fn app_on(own: &OwnAzurite, shared: &str) -> TestApp {
    let settings = vec![
        (
            "STORAGE_CONNECTION_STRING".to_owned(),
            own.connection(shared),
        ),
        ("STORAGE_TIMEOUT_MS".to_owned(), "2000".to_owned()),
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

async fn readyz(app: &TestApp) -> Value {
    app.get("/api/readyz").await.json().await.unwrap()
}

#[tokio::test]
async fn a_stopped_queue_service_loses_no_work() {
    let shared = crate::emulators::storage_account();
    let mut queues = OwnAzurite::start("queue", &shared);
    let app = app_on(&queues, &shared).await;
    let token = signup_token(&app, &address(&app, "owner"), "Ola").await;
    let bytes = png(320, 240);
    let ticket = new_ticket(&app, &token, "image", "pier.png", "image/png", bytes.len()).await;
    assert_eq!(put(&app, &ticket, bytes).await.status(), 201);
    let file_id = ticket["fileId"].as_str().unwrap().to_owned();

    queues.server.stop();
    let started = Instant::now();
    let completed = complete(&app, &token, &file_id).await;
    let complete_took = started.elapsed();
    assert_eq!(
        completed.status(),
        200,
        "complete while the queues are down"
    );
    let completed: Value = completed.json().await.unwrap();
    assert_eq!(completed["file"]["thumbnail"]["status"], "pending");
    let newcomer = address(&app, "newcomer");
    let started = Instant::now();
    signup(&app, &newcomer, "Nia").await;
    let signup_took = started.elapsed();
    println!("queues stopped: complete {complete_took:?}, sign-up {signup_took:?}");
    // Not the 30 s the SDK's own retries took: the queue is refused at once, and the rest is
    // the shared emulators' time, which a busy test machine stretches.
    assert!(complete_took < Duration::from_secs(5), "{complete_took:?}");
    assert!(signup_took < Duration::from_secs(5), "{signup_took:?}");
    let ready = eventually(
        "readyz to see the queues down",
        Duration::from_secs(10),
        || async {
            let ready = readyz(&app).await;
            (ready["dependencies"]["queues"]["status"] != "ok").then_some(ready)
        },
    )
    .await;
    assert_eq!(ready["status"], "unavailable", "{ready}");

    queues.server.restart();
    let recovered = Instant::now();
    // The dev host fires the outbox timer every minute, as the Functions host does; run it
    // now, as an operator could, rather than wait for the minute, and again while the queues'
    // breaker still refuses calls (it lets one through after its cool-down).
    let sent = std::sync::atomic::AtomicU64::new(0);
    let (sent, app_ref) = (&sent, &app);
    eventually("the outbox sweep", Duration::from_secs(30), || async move {
        let app = app_ref;
        let sweep = app
            .client
            .post(app.url("/admin/functions/outbox"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(sweep.status(), 202);
        let reply: Value = sweep.json().await.unwrap();
        let now = reply["ReturnValue"]["sent"].as_u64().unwrap();
        let total = sent.fetch_add(now, std::sync::atomic::Ordering::SeqCst) + now;
        // The thumbnail request and the newcomer's verification email.
        (reply["ReturnValue"]["failed"] == 0 && total >= 2).then_some(())
    })
    .await;
    let file = eventually("the thumbnail", Duration::from_secs(60), || async {
        let file: Value = get_file(&app, &token, &file_id).await.json().await.unwrap();
        (file["thumbnail"]["status"] != "pending").then_some(file)
    })
    .await;
    assert_eq!(file["thumbnail"]["status"], "ready", "{file}");
    eventually(
        "the verification email",
        Duration::from_secs(60),
        || async {
            let mails = mailbox(&app, &newcomer).await;
            mails
                .iter()
                .any(|m| m["kind"] == "verification")
                .then_some(())
        },
    )
    .await;
    println!("queues: work done {:?} after recovery", recovered.elapsed());
}

/// Twelve `complete` calls for an upload while the blob service is out: each 503
/// `UNAVAILABLE`; the slowest within the deadline, the ones after the breaker opened at once.
async fn complete_refused(app: &TestApp, token: &str, file_id: &str, what: &str) {
    let mut times = Vec::new();
    for _ in 0..12 {
        let started = Instant::now();
        let response = complete(app, token, file_id).await;
        times.push(started.elapsed());
        assert!(response.headers().contains_key("retry-after"));
        crate::http::problem(response, 503, "UNAVAILABLE").await;
    }
    println!("blobs {what}: complete answer times {times:?}");
    // Each call also reads the file's document on the shared Cosmos emulator, which a busy
    // test machine slows: the bounds are the 2 s deadline and an open breaker, plus room.
    let slowest = times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(4),
        "{what}: slowest {slowest:?}"
    );
    let after_open = times[6..].iter().max().copied().unwrap_or_default();
    assert!(
        after_open < Duration::from_secs(2),
        "{what}: breaker open, yet {after_open:?}"
    );
    // The rest of the API does not need the blob service.
    let me = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "{what}: users/me");
    let ready = eventually(
        "readyz to see the blobs down",
        Duration::from_secs(10),
        || async {
            let ready = readyz(app).await;
            (ready["dependencies"]["blobs"]["status"] != "ok").then_some(ready)
        },
    )
    .await;
    assert_eq!(ready["status"], "unavailable", "{ready}");
}

/// After the fault: `complete` succeeds within 10 s, with no restart of the handler.
async fn complete_recovers(app: &TestApp, token: &str, file_id: &str, what: &str) -> Value {
    let started = Instant::now();
    let file = eventually(
        "complete to succeed again",
        Duration::from_secs(10),
        || async {
            let response = complete(app, token, file_id).await;
            if response.status() == 200 {
                Some(response.json::<Value>().await.unwrap())
            } else {
                None
            }
        },
    )
    .await;
    println!("blobs {what}: recovered in {:?}", started.elapsed());
    file["file"].clone()
}

async fn uploaded(app: &TestApp, token: &str, name: &str) -> String {
    let bytes = png(64, 48);
    let ticket = new_ticket(app, token, "image", name, "image/png", bytes.len()).await;
    assert_eq!(put(app, &ticket, bytes).await.status(), 201);
    ticket["fileId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stopped_or_hung_blob_service_answers_fast_and_recovers() {
    let shared = crate::emulators::storage_account();
    let mut blobs = OwnAzurite::start("blob", &shared);
    let app = app_on(&blobs, &shared).await;
    let token = signup_token(&app, &address(&app, "blob"), "Bo").await;
    let before = uploaded(&app, &token, "before.png").await;
    assert_eq!(complete(&app, &token, &before).await.status(), 200);

    let during_stop = uploaded(&app, &token, "stop.png").await;
    blobs.server.stop();
    complete_refused(&app, &token, &during_stop, "stopped").await;
    blobs.server.restart();
    let file = complete_recovers(&app, &token, &during_stop, "stopped").await;
    assert_eq!(file["status"], "ready");

    let during_pause = uploaded(&app, &token, "pause.png").await;
    blobs.server.signal("-STOP");
    complete_refused(&app, &token, &during_pause, "paused").await;
    blobs.server.signal("-CONT");
    complete_recovers(&app, &token, &during_pause, "paused").await;

    // Nothing written before the faults was lost: the first upload still downloads.
    let file: Value = get_file(&app, &token, &before).await.json().await.unwrap();
    let download = app
        .client
        .get(file["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap(), png(64, 48));
}
