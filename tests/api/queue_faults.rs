//! The queue service down loses no work. The test app gets a queue service of its own (an
//! azurite-queue process holding the test account, with its data in a folder so a restart
//! keeps it) beside the shared blob service, stops it, and checks that the requests that hand
//! work to queue functions (an upload's `complete`, a sign-up's verification email) still
//! answer at once; readyz names the queues; and once the service is back, the outbox sweep
//! queues what was recorded, so the thumbnail becomes `ready` and the email arrives.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::files::{complete, get_file, new_ticket, png, put};
use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::{address, mailbox, signup, signup_token};

/// An azurite-queue of this test's own on a fixed loopback port, so it can be restarted there.
struct OwnQueues {
    port: u16,
    account: (String, String),
    data: tempfile::TempDir,
    child: Option<Child>,
}

fn field<'a>(connection: &'a str, name: &str) -> &'a str {
    connection
        .split(';')
        .find_map(|part| part.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{name} in {connection}"))
}

impl OwnQueues {
    fn start(connection: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let account = (
            field(connection, "AccountName").to_owned(),
            field(connection, "AccountKey").to_owned(),
        );
        let mut queues = OwnQueues {
            port,
            account,
            data: tempfile::tempdir().unwrap(),
            child: None,
        };
        queues.restart();
        queues
    }

    /// The shared account's connection string with this service as its queue endpoint.
    fn connection(&self, shared: &str) -> String {
        let queue = format!("QueueEndpoint={}", field(shared, "QueueEndpoint"));
        let own = format!(
            "QueueEndpoint=http://127.0.0.1:{}/{}",
            self.port, self.account.0
        );
        shared.replace(&queue, &own)
    }

    fn restart(&mut self) {
        let main = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/emulators/node_modules/azurite/dist/src/queue/main.js");
        let child = Command::new("node")
            .arg(main)
            .args([
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                &self.port.to_string(),
            ])
            .args([
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
                "--disableTelemetry",
            ])
            .arg("--location")
            .arg(self.data.path())
            .env(
                "AZURITE_ACCOUNTS",
                format!("{}:{}", self.account.0, self.account.1),
            )
            .env_remove("AZURITE_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite-queue runs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "azurite-queue did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnQueues {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn readyz(app: &TestApp) -> Value {
    app.get("/api/readyz").await.json().await.unwrap()
}

async fn eventually<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_stopped_queue_service_loses_no_work() {
    let shared = crate::emulators::storage_account();
    let mut queues = OwnQueues::start(&shared);
    let settings = vec![
        (
            "STORAGE_CONNECTION_STRING".to_owned(),
            queues.connection(&shared),
        ),
        // The production deadline, which the shared test settings widen.
        ("STORAGE_TIMEOUT_MS".to_owned(), "2000".to_owned()),
    ];
    let app = spawn_app_with(
        Kind::Azure,
        Options {
            settings,
            ..Options::default()
        },
    )
    .await;
    let token = signup_token(&app, &address(&app, "owner"), "Ola").await;
    let bytes = png(320, 240);
    let ticket = new_ticket(&app, &token, "image", "pier.png", "image/png", bytes.len()).await;
    assert_eq!(put(&app, &ticket, bytes).await.status(), 201);
    let file_id = ticket["fileId"].as_str().unwrap().to_owned();

    queues.stop();
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
    assert!(complete_took < Duration::from_secs(2), "{complete_took:?}");
    assert!(signup_took < Duration::from_secs(2), "{signup_took:?}");
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

    queues.restart();
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
