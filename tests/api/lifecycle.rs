//! Data lifecycle jobs on both backends: message archival end to end and after a failure at
//! each step, admin restore of archived days, and backup -> wipe -> restore.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{conversation, person, say};
use crate::helpers::{Kind, TestApp, portal, spawn_app_with};
use crate::http::{PASSWORD, admin, call, problem};
use portal_api::chat::archive::{self, FailPoint, Options};

both!(
    archival_moves_old_messages_to_verified_parts,
    archival_recovers_from_a_failure_at_each_step,
    backup_wipe_restore_gives_back_every_document,
    export_and_erase_reach_archived_messages,
);

fn timer() -> String {
    json!({"Data": {"timer": {"Schedule": {}, "IsPastDue": false}}, "Metadata": {}}).to_string()
}

async fn run_job(app: &TestApp, name: &str) -> Value {
    let response = app.post_raw(&format!("/{name}"), &timer()).await;
    assert_eq!(response.status(), 200, "{name}");
    response.json().await.unwrap()
}

/// Every message id held by the archive parts of a conversation, read from the blobs.
async fn archived_ids(app: &TestApp, conversation: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for part in archive::parts(&app.state, Some(conversation))
        .await
        .unwrap()
    {
        let (bytes, props) = app
            .stores()
            .blobs
            .get("archives", &part.blob)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(props.content_type.as_deref(), Some("application/gzip"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_ref())
            .read_to_string(&mut text)
            .unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as u64, part.count);
        assert_eq!(lines[0]["id"], part.first_message_id.as_str());
        use sha2::Digest;
        let sha: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha, part.sha256);
        ids.extend(lines.iter().map(|l| l["id"].as_str().unwrap().to_owned()));
    }
    ids
}

async fn live(app: &TestApp, token: &str, conversation: &str) -> Value {
    call(
        app,
        Method::GET,
        &format!("/api/v1/conversations/{conversation}/messages?limit=100"),
        Some(token),
        None,
    )
    .await
    .json()
    .await
    .unwrap()
}

async fn archival_moves_old_messages_to_verified_parts(kind: Kind) {
    let app = portal(kind, &[("ARCHIVE_AFTER_DAYS", "0")]).await;
    let root = admin(&app).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    let mut sent = Vec::new();
    for n in 0..7 {
        sent.push(
            say(&app, &a, &id, &format!("old {n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let first = run_job(&app, "archive-messages").await;
    assert_eq!(first["ReturnValue"]["messages"], 7, "{first}");
    assert_eq!(first["ReturnValue"]["parts"], 1);
    assert!(
        first["Logs"][0]
            .as_str()
            .unwrap()
            .starts_with("archive-messages: 7 messages in 1 parts")
    );
    assert_eq!(archived_ids(&app, &id).await, sent);
    let page = live(&app, &b.token, &id).await;
    assert!(page["items"].as_array().unwrap().is_empty());
    assert_eq!(page["olderHistoryArchived"], true);

    // Nothing is archived twice; a later batch of the same day is a second part.
    let again = run_job(&app, "archive-messages").await;
    assert_eq!(again["ReturnValue"]["messages"], 0);
    let later = say(&app, &b, &id, "later").await;
    run_job(&app, "archive-messages").await;
    let listed: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/admin/archives?conversationId={id}"),
        Some(&root),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    assert_eq!(items[0]["count"], 7);
    assert_eq!(items[1]["count"], 1);
    assert_eq!(items[1]["firstMessageId"], later["id"]);
    assert_eq!(items[0]["day"], items[1]["day"]);
    assert!(
        items[1]["blob"]
            .as_str()
            .unwrap()
            .ends_with(".part-002.jsonl.gz")
    );
    let forbidden = call(
        &app,
        Method::GET,
        "/api/v1/admin/archives",
        Some(&a.token),
        None,
    )
    .await;
    problem(forbidden, 403, "FORBIDDEN").await;

    // Restore puts the day back and takes it out of the archive: nothing exists twice.
    let day = items[0]["day"].as_str().unwrap();
    let restore = |body: Value| {
        let (app, token) = (&app, root.clone());
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/admin/archives/restore",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    problem(
        restore(json!({"conversationId": id, "from": day, "to": "2000-01-01"})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    let restored: Value = restore(json!({"conversationId": id, "from": day, "to": day}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(restored, json!({"parts": 2, "messages": 8}));
    let page = live(&app, &b.token, &id).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 8);
    assert_eq!(page["olderHistoryArchived"], false);
    assert!(
        archive::parts(&app.state, Some(&id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn archival_recovers_from_a_failure_at_each_step(kind: Kind) {
    let app = portal(kind, &[("ARCHIVE_AFTER_DAYS", "0")]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let mut sent = Vec::new();
    for step in [
        FailPoint::AfterCheckpoint,
        FailPoint::AfterUpload,
        FailPoint::MidDelete,
    ] {
        for n in 0..6 {
            sent.push(
                say(&app, &a, &id, &format!("{step:?} {n}")).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        let options = Options {
            cutoff: chrono::Utc::now(),
            fail_at: Some(step),
        };
        let failed = archive::run(&app.state, &options).await;
        assert!(failed.is_err(), "{step:?}");
        // The next scheduled run finishes the work.
        let next = run_job(&app, "archive-messages").await;
        assert_eq!(next["ReturnValue"]["resumed"], true, "{step:?}: {next}");
        let archived = archived_ids(&app, &id).await;
        let unique: HashSet<&String> = archived.iter().collect();
        assert_eq!(
            unique.len(),
            archived.len(),
            "{step:?}: a message archived twice"
        );
        assert_eq!(
            archived, sent,
            "{step:?}: every message archived once, in order"
        );
        assert!(
            live(&app, &b.token, &id).await["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
}

/// Every document of every container, system fields dropped, by container and id.
async fn snapshot(app: &TestApp) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut all = BTreeMap::new();
    for spec in portal_api::store::schema::CONTAINERS {
        let mut docs = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = app
                .stores()
                .documents
                .query(
                    spec.name,
                    None,
                    &portal_api::store::Query::default().limit(500),
                    token.as_deref(),
                )
                .await
                .unwrap();
            for doc in page.items {
                let mut value = doc.value;
                value
                    .as_object_mut()
                    .unwrap()
                    .retain(|k, _| !k.starts_with('_'));
                let pk = spec.partition_key.trim_start_matches('/');
                docs.insert(
                    format!(
                        "{}|{}",
                        value[pk].as_str().unwrap(),
                        value["id"].as_str().unwrap()
                    ),
                    value,
                );
            }
            match page.continuation {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        all.insert(spec.name.to_owned(), docs);
    }
    all
}

async fn wipe(app: &TestApp, snapshot: &BTreeMap<String, BTreeMap<String, Value>>) {
    for (container, docs) in snapshot {
        for key in docs.keys() {
            let (pk, id) = key.split_once('|').unwrap();
            app.stores()
                .documents
                .delete(container, pk, id)
                .await
                .unwrap();
        }
    }
}

async fn backup_wipe_restore_gives_back_every_document(kind: Kind) {
    // The app's own timers would write their run records into `jobs` at any minute, in the
    // middle of the comparison: this app runs none by itself (the backup runs on demand).
    let root = crate::dev_host::script_root(|_, root| crate::dev_host::disable_timers(root));
    let app = spawn_app_with(
        kind,
        crate::helpers::Options {
            settings: vec![("ADMIN_EMAILS".into(), "root@example.com".into())],
            script_root: Some(root.path().to_owned()),
            ..Default::default()
        },
    )
    .await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    say(&app, &a, &id, "keep me").await;
    say(&app, &b, &id, "and me").await;
    let enrolled = call(&app, Method::POST, "/api/v1/forms/contact", None, Some(json!({"name": "Ada", "email": format!("ada.{}@example.com", app.unique), "subject": "Hi", "message": "A message long enough."}))).await;
    assert_eq!(enrolled.status(), 201);
    // An old backup, past the retention.
    app.stores()
        .blobs
        .put(
            "backups",
            "2000-01-01/manifest.json",
            "{}".into(),
            Default::default(),
        )
        .await
        .unwrap();

    let before = snapshot(&app).await;
    let done = run_job(&app, "backup").await;
    assert_eq!(done["ReturnValue"]["pruned"], 1, "{done}");
    let date = done["ReturnValue"]["date"].as_str().unwrap().to_owned();
    let counted: usize = before.values().map(BTreeMap::len).sum();
    assert_eq!(done["ReturnValue"]["documents"], counted);
    assert!(
        app.stores()
            .blobs
            .head("backups", "2000-01-01/manifest.json")
            .await
            .unwrap()
            .is_none()
    );

    let date: chrono::NaiveDate = date.parse().unwrap();
    let refused = portal_api::jobs::backup::restore(&app.state, date, false).await;
    assert!(refused.unwrap_err().to_string().contains("not empty"));
    // The backup's own run record came after it: wipe what is there now.
    let now = snapshot(&app).await;
    wipe(&app, &now).await;
    assert_eq!(
        snapshot(&app)
            .await
            .values()
            .map(BTreeMap::len)
            .sum::<usize>(),
        0
    );
    let restored = portal_api::jobs::backup::restore(&app.state, date, false)
        .await
        .unwrap();
    assert_eq!(restored.documents as usize, counted);
    let after = snapshot(&app).await;
    assert_eq!(after, before);
    // The restored data works: the conversation reads as before.
    let page = live(&app, &b.token, &id).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let missing =
        portal_api::jobs::backup::restore(&app.state, "1999-01-01".parse().unwrap(), true).await;
    assert!(missing.unwrap_err().to_string().contains("no backup"));
}

/// The `handler restore` subcommand, run as an operator would, against an app's data folder.
#[tokio::test]
async fn the_restore_subcommand_refuses_a_store_with_data_unless_forced() {
    let app = portal(Kind::Embedded, &[]).await;
    person(&app, "a").await;
    let done = run_job(&app, "backup").await;
    let date = done["ReturnValue"]["date"].as_str().unwrap().to_owned();
    let data_dir = app.data_dir.path().to_owned();
    let run = move |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .args(args)
            .env("DATA_DIR", &data_dir)
            .env("SCRIPT_ROOT", env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    };
    let args = |extra: &[&str]| {
        let mut v = vec!["restore".to_owned(), "--from".to_owned(), date.clone()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let (refused, forced, bad) = tokio::task::spawn_blocking({
        let (a, b) = (args(&[]), args(&["--force"]));
        move || {
            (
                run(a),
                run(b),
                run(vec!["restore".into(), "--from".into(), "yesterday".into()]),
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(String::from_utf8_lossy(&forced.stdout).starts_with("restored "));
    assert_eq!(bad.status.code(), Some(2));
}

async fn export_and_erase_reach_archived_messages(kind: Kind) {
    let app = portal(kind, &[("ARCHIVE_AFTER_DAYS", "0")]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    say(&app, &a, &id, "archived words").await;
    say(&app, &b, &id, "a reply").await;
    run_job(&app, "archive-messages").await;
    let export: Value = call(
        &app,
        Method::GET,
        "/api/v1/users/me/data-export",
        Some(&a.token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let archived = export["chat"]["archivedMessages"].as_array().unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["text"], "archived words");

    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&a.token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    for _ in 0..150 {
        let parts = archive::parts(&app.state, Some(&id)).await.unwrap();
        // The erase may rewrite the part between the listing and the read, and then the bytes
        // read no longer match the listed SHA-256: look again.
        let Ok(messages) = archive::read_part(&app.state, &parts[0]).await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let theirs = messages
            .iter()
            .find(|m| m["senderId"] == a.id.as_str())
            .unwrap();
        if theirs["senderDeleted"] == true {
            assert!(theirs.get("text").is_none());
            let reply = messages
                .iter()
                .find(|m| m["senderId"] == b.id.as_str())
                .unwrap();
            assert_eq!(reply["text"], "a reply");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the erase did not reach the archive");
}
