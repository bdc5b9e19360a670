//! Archival at volume: 1,000,000 chat messages (100 conversations over 10 days) on the embedded
//! backend, archived by the release handler's `archive-messages` function in one run. Reports
//! messages per second and the handler's peak memory (VmHWM; the target is under 150 MB),
//! then checks that no message is left and every part adds up.
//!
//!     cargo bench --bench archive
//!     MESSAGES=100000 cargo bench --bench archive

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use portal_api::{AppState, Settings};
use serde_json::{Value, json};

mod support;
use support::{Handler, env_or, peak_rss_mib};

#[tokio::main]
async fn main() {
    let messages = env_or("MESSAGES", 1_000_000);
    let conversations = 100usize;
    let days = 10usize;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();

    // Seed through the library into the same folder the handler will use.
    let started = Instant::now();
    {
        let settings = Settings::from_lookup(|k| match k {
            "DATA_DIR" => Some(dir.clone()),
            "SCRIPT_ROOT" => Some(env!("CARGO_MANIFEST_DIR").into()),
            _ => None,
        })
        .unwrap();
        let state = AppState::build(settings).unwrap();
        let docs = &state.stores.documents;
        let start = Utc.with_ymd_and_hms(2024, 1, 1, 8, 0, 0).unwrap();
        for c in 0..conversations {
            let id = format!("bench-{c:03}");
            docs.create(
                "conversations",
                &id,
                json!({"id": id, "type": "group", "name": "bench", "createdBy": "u0",
                       "participantIds": ["u0", "u1"], "admins": ["u0"],
                       "createdAt": start, "updatedAt": start}),
            )
            .await
            .unwrap();
        }
        let per_conversation = messages / conversations;
        let batch = 256;
        let mut pending = Vec::with_capacity(batch);
        for n in 0..messages {
            let c = n % conversations;
            let k = n / conversations;
            let at = start
                + chrono::Duration::days((k * days / per_conversation.max(1)) as i64)
                + chrono::Duration::milliseconds(k as i64);
            let conversation = format!("bench-{c:03}");
            let doc = json!({
                "id": uuid::Uuid::now_v7().to_string(), "conversationId": conversation,
                "kind": "message", "senderId": format!("u{}", k % 2), "clientMessageId": format!("m{n}"),
                "text": format!("message number {n}, with a little text to look like chat"),
                "searchText": format!("message number {n}, with a little text to look like chat"),
                "attachments": [], "createdAt": at,
            });
            pending.push(async move { docs.create("messages", &conversation, doc).await });
            if pending.len() == batch {
                for r in futures::future::join_all(pending.drain(..)).await {
                    r.unwrap();
                }
            }
        }
        for r in futures::future::join_all(pending).await {
            r.unwrap();
        }
    }
    println!(
        "seeded {messages} messages in {conversations} conversations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let handler = Handler::start(data.path(), &[("ARCHIVE_AFTER_DAYS", "0")]).await;
    let pid = handler.pid();
    let base = handler.base.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let idle = peak_rss_mib(pid);
    let started = Instant::now();
    let invocation =
        json!({"Data": {"timer": {"Schedule": {}, "IsPastDue": false}}, "Metadata": {}});
    let reply: Value = http
        .post(format!("{base}/archive-messages"))
        .json(&invocation)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let took = started.elapsed();
    let archived = reply["ReturnValue"]["messages"].as_u64().unwrap_or(0);
    println!("{}", reply["Logs"][0].as_str().unwrap_or_default());
    println!(
        "archived {archived} messages in {:.1} s: {:.0} messages/s; handler peak memory {:.1} MiB (idle {:.1} MiB)",
        took.as_secs_f64(),
        archived as f64 / took.as_secs_f64(),
        peak_rss_mib(pid),
        idle,
    );
    assert_eq!(archived as usize, messages, "{reply}");
    assert_eq!(
        reply["ReturnValue"]["parts"].as_u64().unwrap() as usize,
        conversations * days,
        "one part per conversation and day"
    );
}
