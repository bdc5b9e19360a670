//! The local dev host (timers on their schedules, the queue pump with the host's retry and
//! poison rules, the admin "run now" door) and the email outbox it drives.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Kind, Options, TestApp, fixture, spawn_app, spawn_app_with};
use crate::http::{eventually, mailbox, problem};

/// A copy of the repository's host.json and functions, with `edit` applied, in a temp folder.
pub fn script_root(edit: impl FnOnce(&mut Value, &Path)) -> tempfile::TempDir {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut host: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("host.json")).unwrap()).unwrap();
    for entry in std::fs::read_dir(repo.join("functions")).unwrap() {
        let from = entry.unwrap().path();
        let to = dir.path().join("functions").join(from.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(from.join("function.json"), to.join("function.json")).unwrap();
    }
    edit(&mut host, dir.path());
    std::fs::write(dir.path().join("host.json"), host.to_string()).unwrap();
    dir
}

/// Marks every timer function of `root` disabled (`"disabled": true`, as the host reads it):
/// the app then runs no job by itself, and a test runs the ones it wants through the admin door.
pub fn disable_timers(root: &Path) {
    for entry in std::fs::read_dir(root.join("functions")).unwrap() {
        let file = entry.unwrap().path().join("function.json");
        let mut json: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if json["bindings"][0]["type"] == "timerTrigger" {
            json["disabled"] = json!(true);
            std::fs::write(&file, json.to_string()).unwrap();
        }
    }
}

fn set_function(root: &Path, name: &str, json: Value) {
    std::fs::write(
        root.join("functions").join(name).join("function.json"),
        json.to_string(),
    )
    .unwrap();
}

async fn spawn_with_root(root: &tempfile::TempDir) -> TestApp {
    spawn_app_with(
        Kind::Embedded,
        Options {
            script_root: Some(root.path().to_owned()),
            ..Default::default()
        },
    )
    .await
}

#[tokio::test]
async fn timers_fire_on_their_ncrontab_schedule() {
    let root = script_root(|_, root| {
        set_function(
            root,
            "cleanup",
            json!({"bindings": [{"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "* * * * * *"}]}),
        )
    });
    let app = spawn_with_root(&root).await;
    let docs = app.stores().documents.clone();
    let run = eventually(
        "the every-second cleanup timer",
        Duration::from_secs(5),
        || {
            let docs = docs.clone();
            async move { docs.get("jobs", "cleanup", "cleanup").await.unwrap() }
        },
    )
    .await;
    assert!(run.value["lastRunAt"].is_string());
}

#[tokio::test]
async fn admin_runs_a_function_now_as_the_host_does() {
    let app = spawn_app(Kind::Embedded).await;
    let response = app
        .client
        .post(app.url("/admin/functions/cleanup"))
        .json(&json!({"input": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let reply: Value = response.json().await.unwrap();
    assert!(reply["Logs"][0].as_str().unwrap().starts_with("cleanup:"));
    let unknown = app
        .client
        .post(app.url("/admin/functions/nope"))
        .send()
        .await
        .unwrap();
    problem(unknown, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn dev_routes_do_not_exist_in_host_mode() {
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("FUNCTIONS_CUSTOMHANDLER_PORT".into(), "0".into())],
            ..Default::default()
        },
    )
    .await;
    problem(
        app.client
            .post(app.url("/admin/functions/cleanup"))
            .send()
            .await
            .unwrap(),
        404,
        "NOT_FOUND",
    )
    .await;
    problem(app.get("/api/dev/mailbox").await, 404, "NOT_FOUND").await;
    assert_eq!(app.get("/api/healthz").await.status(), 200);
}

async fn outbox_delivers(kind: Kind) {
    let app = spawn_app(kind).await;
    let to = format!("{}@example.com", app.unique);
    let email = portal_api::email::Email::new("verification", &to, "Welcome", "Click the link");
    portal_api::email::enqueue(&app.state, &email)
        .await
        .unwrap();
    let delivered = eventually("the email in the mailbox", Duration::from_secs(10), || {
        let app = &app;
        let to = to.clone();
        async move {
            let items = mailbox(app, &to).await;
            (!items.is_empty()).then_some(items)
        }
    })
    .await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["subject"], "Welcome");
    assert_eq!(delivered[0]["kind"], "verification");
}

#[tokio::test]
async fn the_pump_delivers_outbox_email_on_the_embedded_queue() {
    outbox_delivers(Kind::Embedded).await;
}

#[tokio::test]
async fn the_pump_delivers_outbox_email_through_azurite() {
    outbox_delivers(Kind::Azure).await;
}

#[tokio::test]
async fn a_message_that_keeps_failing_goes_to_poison_after_max_dequeue_count() {
    let root = script_root(|host, _| {
        host["extensions"]["queues"]["visibilityTimeout"] = json!("00:00:00");
        host["extensions"]["queues"]["maxDequeueCount"] = json!(3);
    });
    let app = spawn_with_root(&root).await;
    let queues = app.stores().queues.clone();
    queues
        .send("emails", "not an email", Duration::ZERO)
        .await
        .unwrap();
    let poisoned = eventually(
        "the message in emails-poison",
        Duration::from_secs(15),
        || {
            let queues = queues.clone();
            async move {
                let got = queues
                    .receive("emails-poison", 1, Duration::from_secs(60))
                    .await
                    .unwrap();
                got.into_iter().next()
            }
        },
    )
    .await;
    assert_eq!(poisoned.body, "not an email");
    assert!(
        queues
            .receive("emails", 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_host_door_delivers_a_queued_email_and_fails_a_bad_one() {
    let app = spawn_app(Kind::Embedded).await;
    let to = format!("{}@example.com", app.unique);
    let email = portal_api::email::Email::new("invite", &to, "Join us", "Here is your invite");
    // As the host sends a queue message: the text double-encoded, metadata as JSON text.
    let invocation = json!({
        "Data": {"message": serde_json::to_string(&serde_json::to_string(&email).unwrap()).unwrap()},
        "Metadata": {"DequeueCount": "1", "Id": "\"abc\"", "sys": {"MethodName": "emails"}},
    });
    let response = app.post_raw("/emails", &invocation.to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(mailbox(&app, &to).await.len(), 1);

    // The captured queue payload carries "aaaaa": not an email, so the host must retry it.
    let failed = app.post_raw("/emails", &fixture("queue-string.json")).await;
    problem(failed, 500, "INVOCATION_FAILED").await;
}
