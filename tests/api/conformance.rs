//! One storage conformance suite, written once, run against both implementations of every
//! trait: the embedded twins, and Azure's (Azurite, cosmosdb-server, redis-server and the Key
//! Vault fake). Test names say which: `conformance::embedded::*` and `conformance::azure::*`.

use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use portal_api::store::{
    Change, Cmp, Filter, Order, PatchOp, PutOptions, Query, ReadHeaders, SasAccess, StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::helpers::TestApp;

// Every case, generated once per backend, on an app of its own.
both!(
    |kind, case| {
        let app = crate::helpers::spawn_app(kind).await;
        case(&app).await;
    };
    documents_create_get_and_duplicate,
    documents_replace_with_etags,
    documents_upsert_delete,
    documents_reject_bad_documents,
    documents_query_pages_with_continuation,
    documents_query_filters,
    documents_patch_increments,
    documents_conditional_patch_stays_below_maximum,
    documents_ttl_is_honoured_on_read,
    blobs_put_get_head_delete,
    blobs_list_by_prefix_in_pages,
    blobs_if_not_exists,
    blobs_signed_urls_work_with_a_plain_client,
    blobs_read_prefix_and_read_headers,
    queues_send_receive_delete,
    queues_visibility_and_redelivery,
    cache_ttl_and_incr,
    cache_sets_and_set_nx,
    cache_get_many_answers_in_order,
    secrets_versions,
    collection_update_with_retries_keeps_and_creates_once,
);

fn is<T: std::fmt::Debug>(result: Result<T, StoreError>, want: &str) {
    let got = match &result {
        Err(StoreError::NotFound) => "NotFound",
        Err(StoreError::Conflict) => "Conflict",
        Err(StoreError::PreconditionFailed) => "PreconditionFailed",
        Err(StoreError::BadInput(_)) => "BadInput",
        Err(StoreError::Contended(_)) => "Contended",
        Err(StoreError::Unavailable(_)) => "Unavailable",
        Err(StoreError::Missing(_)) => "Missing",
        Err(StoreError::Other(_)) => "Other",
        Ok(_) => "Ok",
    };
    assert_eq!(got, want, "{result:?}");
}

async fn documents_create_get_and_duplicate(app: &TestApp) {
    let docs = &app.stores().documents;
    let created = docs
        .create("users", "u1", json!({"id": "u1", "name": "Ada"}))
        .await
        .unwrap();
    assert_eq!(created.value["name"], "Ada");
    assert!(!created.etag.is_empty());
    let read = docs.get("users", "u1", "u1").await.unwrap().unwrap();
    assert_eq!(read.value["name"], "Ada");
    assert_eq!(read.etag, created.etag);
    assert!(
        docs.get("users", "nobody", "nobody")
            .await
            .unwrap()
            .is_none()
    );
    is(
        docs.create("users", "u1", json!({"id": "u1", "name": "Eve"}))
            .await,
        "Conflict",
    );
    // The same id in another partition is another document.
    docs.create("sessions", "a", json!({"id": "s", "userId": "a"}))
        .await
        .unwrap();
    docs.create("sessions", "b", json!({"id": "s", "userId": "b"}))
        .await
        .unwrap();
}

async fn documents_replace_with_etags(app: &TestApp) {
    let docs = &app.stores().documents;
    let v1 = docs
        .create("courses", "c", json!({"id": "c", "v": 1}))
        .await
        .unwrap();
    let v2 = docs
        .replace("courses", "c", json!({"id": "c", "v": 2}), Some(&v1.etag))
        .await
        .unwrap();
    assert_ne!(v1.etag, v2.etag);
    is(
        docs.replace("courses", "c", json!({"id": "c", "v": 3}), Some(&v1.etag))
            .await,
        "PreconditionFailed",
    );
    assert_eq!(
        docs.get("courses", "c", "c").await.unwrap().unwrap().value["v"],
        2
    );
    docs.replace("courses", "c", json!({"id": "c", "v": 4}), None)
        .await
        .unwrap();
    is(
        docs.replace("courses", "zz", json!({"id": "zz"}), None)
            .await,
        "NotFound",
    );
}

async fn documents_upsert_delete(app: &TestApp) {
    let docs = &app.stores().documents;
    docs.upsert("forms", "f", json!({"id": "f", "n": 1}))
        .await
        .unwrap();
    docs.upsert("forms", "f", json!({"id": "f", "n": 2}))
        .await
        .unwrap();
    assert_eq!(
        docs.get("forms", "f", "f").await.unwrap().unwrap().value["n"],
        2
    );
    docs.delete("forms", "f", "f").await.unwrap();
    assert!(docs.get("forms", "f", "f").await.unwrap().is_none());
    is(docs.delete("forms", "f", "f").await, "NotFound");
}

async fn documents_reject_bad_documents(app: &TestApp) {
    let docs = &app.stores().documents;
    is(
        docs.create("users", "u", json!({"name": "no id"})).await,
        "Other",
    );
    is(
        docs.create("users", "u", json!({"id": "other"})).await,
        "Other",
    );
    is(
        docs.create("users", "a/b", json!({"id": "a/b"})).await,
        "BadInput",
    );
    is(docs.create("nope", "x", json!({"id": "x"})).await, "Other");
    is(
        docs.query(
            "users",
            None,
            &Query::default().filter(Filter::eq("a) OR (1", 1)),
            None,
        )
        .await,
        "Other",
    );
}

async fn documents_query_pages_with_continuation(app: &TestApp) {
    let docs = &app.stores().documents;
    for n in 0..7 {
        let id = format!("m{n}");
        docs.create(
            "messages",
            "conv-a",
            json!({"id": id, "conversationId": "conv-a", "n": n}),
        )
        .await
        .unwrap();
    }
    for n in 0..2 {
        let id = format!("x{n}");
        docs.create(
            "messages",
            "conv-b",
            json!({"id": id, "conversationId": "conv-b", "n": n}),
        )
        .await
        .unwrap();
    }
    let query = Query::default().order_by("n", Order::Desc).limit(3);
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = docs
            .query("messages", Some("conv-a"), &query, token.as_deref())
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|d| d.value["n"].as_i64().unwrap()));
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
        assert!(pages < 10, "paging does not end: {seen:?}");
    }
    assert_eq!(
        seen,
        vec![6, 5, 4, 3, 2, 1, 0],
        "one partition, newest first, no gaps or repeats"
    );

    // Across partitions (admin lists), paged too.
    let mut all = 0;
    let mut token: Option<String> = None;
    loop {
        let page = docs
            .query(
                "messages",
                None,
                &Query::default().limit(4),
                token.as_deref(),
            )
            .await
            .unwrap();
        all += page.items.len();
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(all, 9);
    is(
        docs.query(
            "messages",
            None,
            &Query::default().order_by("n", Order::Asc),
            None,
        )
        .await,
        "Other",
    );
    is(
        docs.query("messages", Some("conv-a"), &query, Some("garbage"))
            .await,
        "BadInput",
    );
}

async fn documents_query_filters(app: &TestApp) {
    let docs = &app.stores().documents;
    let users = [
        ("a", "Ada Lovelace", 36, vec!["admin"]),
        ("b", "Alan Turing", 41, vec![]),
        ("c", "Grace Hopper", 85, vec!["admin"]),
    ];
    for (id, name, age, roles) in users {
        docs.create(
            "users",
            id,
            json!({"id": id, "name": name, "age": age, "roles": roles, "profile": {"city": id}}),
        )
        .await
        .unwrap();
    }
    let ids = |page: portal_api::store::Page<portal_api::store::Doc>| {
        let mut v: Vec<String> = page.items.iter().map(|d| d.id().to_owned()).collect();
        v.sort();
        v
    };
    let q = |f: Filter| Query::default().filter(f);
    assert_eq!(
        ids(docs
            .query(
                "users",
                None,
                &q(Filter::new("name", Cmp::Contains, "lovelace")),
                None
            )
            .await
            .unwrap()),
        ["a"]
    );
    assert_eq!(
        ids(docs
            .query("users", None, &q(Filter::new("age", Cmp::Gt, 40)), None)
            .await
            .unwrap()),
        ["b", "c"]
    );
    assert_eq!(
        ids(docs
            .query(
                "users",
                None,
                &q(Filter::new("roles", Cmp::ArrayContains, "admin")),
                None
            )
            .await
            .unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        ids(docs
            .query("users", None, &q(Filter::eq("profile.city", "b")), None)
            .await
            .unwrap()),
        ["b"]
    );
    // One query for a batch of ids, unknown ones ignored.
    assert_eq!(
        ids(docs
            .query(
                "users",
                None,
                &q(Filter::new("id", Cmp::In, json!(["c", "a", "zz"]))),
                None
            )
            .await
            .unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        ids(docs
            .query(
                "users",
                Some("c"),
                &q(Filter::new("age", Cmp::Gte, 0)),
                None
            )
            .await
            .unwrap()),
        ["c"]
    );
}

async fn documents_patch_increments(app: &TestApp) {
    let docs = &app.stores().documents;
    docs.create("conversations", "c", json!({"id": "c", "count": 1}))
        .await
        .unwrap();
    let patched = docs
        .patch(
            "conversations",
            "c",
            "c",
            &[
                PatchOp::Incr("/count".into(), 2),
                PatchOp::Set("/last".into(), json!("hello")),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(patched.value["count"], 3);
    assert_eq!(patched.value["last"], "hello");
    is(
        docs.patch(
            "conversations",
            "c",
            "none",
            &[PatchOp::Incr("/count".into(), 1)],
            None,
        )
        .await,
        "NotFound",
    );
}

async fn documents_conditional_patch_stays_below_maximum(app: &TestApp) {
    let docs = &app.stores().documents;
    docs.create(
        "shares",
        "s",
        json!({"id": "s", "accessCount": 0, "maxAccessCount": 5}),
    )
    .await
    .unwrap();
    let below = Filter::new("accessCount", Cmp::Lt, 5);
    let count = [PatchOp::Incr("/accessCount".into(), 1)];
    let attempts = (0..12).map(|_| docs.patch("shares", "s", "s", &count, Some(&below)));
    let results = join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 5, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(StoreError::PreconditionFailed)))
    );
    assert_eq!(
        docs.get("shares", "s", "s").await.unwrap().unwrap().value["accessCount"],
        5
    );
}

async fn documents_ttl_is_honoured_on_read(app: &TestApp) {
    let docs = &app.stores().documents;
    // `_ts` is whole seconds: a 1 s TTL can end a moment after the create, so 3 s.
    docs.create("tokens", "short", json!({"id": "short", "ttl": 3}))
        .await
        .unwrap();
    docs.create("tokens", "long", json!({"id": "long", "ttl": 3600}))
        .await
        .unwrap();
    assert!(
        docs.get("tokens", "short", "short")
            .await
            .unwrap()
            .is_some()
    );
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert!(
        docs.get("tokens", "short", "short")
            .await
            .unwrap()
            .is_none()
    );
    assert!(docs.get("tokens", "long", "long").await.unwrap().is_some());
    let listed = docs
        .query("tokens", None, &Query::default(), None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    // An expired id is free again.
    docs.create("tokens", "short", json!({"id": "short", "ttl": 60}))
        .await
        .unwrap();
}

async fn blobs_put_get_head_delete(app: &TestApp) {
    let blobs = &app.stores().blobs;
    let name = format!("{}/dir/hello.txt", app.unique);
    let options = PutOptions {
        content_type: Some("text/plain".into()),
        metadata: vec![("owner".into(), "u1".into())],
        if_not_exists: false,
    };
    blobs
        .put("files", &name, "hello".into(), options)
        .await
        .unwrap();
    let head = blobs.head("files", &name).await.unwrap().unwrap();
    assert_eq!(head.size, 5);
    assert_eq!(head.content_type.as_deref(), Some("text/plain"));
    assert_eq!(head.metadata, vec![("owner".to_string(), "u1".to_string())]);
    let (bytes, _) = blobs.get("files", &name).await.unwrap().unwrap();
    assert_eq!(&bytes[..], b"hello");
    assert!(blobs.delete("files", &name).await.unwrap());
    assert!(!blobs.delete("files", &name).await.unwrap());
    assert!(blobs.get("files", &name).await.unwrap().is_none());
    assert!(blobs.head("files", &name).await.unwrap().is_none());
    is(
        blobs
            .put("files", "../escape", "x".into(), PutOptions::default())
            .await,
        "BadInput",
    );
}

async fn blobs_list_by_prefix_in_pages(app: &TestApp) {
    let blobs = &app.stores().blobs;
    for n in 0..5 {
        let name = format!("{}/a/{n}.bin", app.unique);
        blobs
            .put(
                "backups",
                &name,
                vec![n as u8; n + 1].into(),
                PutOptions::default(),
            )
            .await
            .unwrap();
    }
    blobs
        .put(
            "backups",
            &format!("{}/b/other", app.unique),
            "x".into(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let prefix = format!("{}/a/", app.unique);
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = blobs
            .list("backups", &prefix, token.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        names.extend(page.items.into_iter().map(|i| (i.name, i.props.size)));
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let expected: Vec<(String, u64)> = (0..5)
        .map(|n| (format!("{prefix}{n}.bin"), n as u64 + 1))
        .collect();
    assert_eq!(names, expected);
}

async fn blobs_if_not_exists(app: &TestApp) {
    let blobs = &app.stores().blobs;
    let name = format!("{}/once", app.unique);
    let once = PutOptions {
        if_not_exists: true,
        ..Default::default()
    };
    blobs
        .put("archives", &name, "1".into(), once.clone())
        .await
        .unwrap();
    is(
        blobs.put("archives", &name, "2".into(), once).await,
        "Conflict",
    );
    assert_eq!(
        &blobs.get("archives", &name).await.unwrap().unwrap().0[..],
        b"1"
    );
}

async fn blobs_signed_urls_work_with_a_plain_client(app: &TestApp) {
    let blobs = &app.stores().blobs;
    let name = format!("{}/upload/photo one.png", app.unique);
    let expires = Utc::now() + chrono::Duration::minutes(15);
    let upload = blobs
        .signed_url(
            "files",
            &name,
            SasAccess::Create,
            expires,
            &Default::default(),
        )
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let put = http
        .put(upload.clone())
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-type", "image/png")
        .body(vec![0x89, b'P', b'N', b'G'])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());
    let read = blobs
        .signed_url(
            "files",
            &name,
            SasAccess::Read,
            expires,
            &Default::default(),
        )
        .await
        .unwrap();
    let got = http.get(read.clone()).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.bytes().await.unwrap().as_ref(),
        &[0x89, b'P', b'N', b'G']
    );
    // A read URL does not allow writing, and a tampered signature allows nothing.
    let write_with_read = http
        .put(read.clone())
        .header("x-ms-blob-type", "BlockBlob")
        .body("evil")
        .send()
        .await
        .unwrap();
    assert_eq!(write_with_read.status(), 403);
    let mut tampered = read.clone();
    let query: String = read
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "sig" {
                // Another first character: one signature in 64 starts with "A" already.
                let other = if v.starts_with('A') { 'B' } else { 'A' };
                format!("{other}{}", &v[1..])
            } else {
                v.into_owned()
            };
            format!(
                "{}={}",
                k,
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    tampered.set_query(Some(&query));
    assert_eq!(http.get(tampered).send().await.unwrap().status(), 403);
    // An expired URL is refused.
    let past = Utc::now() - chrono::Duration::minutes(1);
    let expired = blobs
        .signed_url("files", &name, SasAccess::Read, past, &Default::default())
        .await
        .unwrap();
    assert_eq!(http.get(expired).send().await.unwrap().status(), 403);
}

async fn queues_send_receive_delete(app: &TestApp) {
    let queues = &app.stores().queues;
    let q = &app.unique;
    queues
        .send(q, r#"{"fileId":"f1"}"#, Duration::ZERO)
        .await
        .unwrap();
    let got = queues
        .receive(q, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, r#"{"fileId":"f1"}"#);
    assert_eq!(got[0].dequeue_count, 1);
    assert!(
        queues
            .receive(q, 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty(),
        "hidden while leased"
    );
    is(
        queues.delete(q, &got[0].id, "stale-receipt").await,
        "NotFound",
    );
    queues
        .delete(q, &got[0].id, &got[0].pop_receipt)
        .await
        .unwrap();
    assert!(
        queues
            .receive(&format!("{q}-never"), 1, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn queues_visibility_and_redelivery(app: &TestApp) {
    let queues = &app.stores().queues;
    let q = &app.unique;
    queues
        .send(q, "later", Duration::from_secs(2))
        .await
        .unwrap();
    assert!(
        queues
            .receive(q, 1, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "delayed"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let first = queues.receive(q, 1, Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = queues.receive(q, 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(second.len(), 1, "reappears after its visibility timeout");
    assert_eq!(second[0].dequeue_count, 2);
    queues
        .release(q, &second[0].id, &second[0].pop_receipt, Duration::ZERO)
        .await
        .unwrap();
    let third = queues.receive(q, 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(third.len(), 1, "released for an immediate retry");
    assert_eq!(third[0].dequeue_count, 3);
    queues
        .delete(q, &third[0].id, &third[0].pop_receipt)
        .await
        .unwrap();
}

async fn cache_ttl_and_incr(app: &TestApp) {
    let cache = &app.stores().cache;
    let k = |s: &str| format!("{}:{s}", app.unique);
    cache
        .set(&k("a"), "1", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(cache.get(&k("a")).await.unwrap().as_deref(), Some("1"));
    assert!(cache.exists(&k("a")).await.unwrap());
    assert!(cache.ttl(&k("a")).await.unwrap().unwrap() <= Duration::from_secs(1));
    assert_eq!(
        cache
            .incr(&k("n"), 1, Duration::from_secs(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        cache
            .incr(&k("n"), 2, Duration::from_secs(60))
            .await
            .unwrap(),
        3
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(cache.get(&k("a")).await.unwrap(), None);
    assert!(!cache.exists(&k("a")).await.unwrap());
    assert_eq!(
        cache
            .incr(&k("n"), 1, Duration::from_secs(1))
            .await
            .unwrap(),
        1,
        "a fixed window restarts"
    );
    cache.set(&k("forever"), "x", Duration::ZERO).await.unwrap();
    assert_eq!(cache.ttl(&k("forever")).await.unwrap(), None);
    cache.del(&k("forever")).await.unwrap();
    assert_eq!(cache.get(&k("forever")).await.unwrap(), None);
}

async fn cache_get_many_answers_in_order(app: &TestApp) {
    let cache = &app.stores().cache;
    let k = |s: &str| format!("{}:{s}", app.unique);
    let minute = Duration::from_secs(60);
    cache.set(&k("a"), "1", minute).await.unwrap();
    cache.set(&k("c"), "3", minute).await.unwrap();
    let got = cache.get_many(&[&k("a"), &k("b"), &k("c")]).await.unwrap();
    assert_eq!(got, vec![Some("1".into()), None, Some("3".into())]);
    // One key is a list of one, not a bare value.
    assert_eq!(
        cache.get_many(&[&k("c")]).await.unwrap(),
        vec![Some("3".into())]
    );
    assert!(cache.get_many(&[]).await.unwrap().is_empty());
}

async fn cache_sets_and_set_nx(app: &TestApp) {
    let cache = &app.stores().cache;
    let k = |s: &str| format!("{}:{s}", app.unique);
    assert!(
        cache
            .set_nx(&k("lock"), "me", Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert!(
        !cache
            .set_nx(&k("lock"), "you", Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert_eq!(cache.get(&k("lock")).await.unwrap().as_deref(), Some("me"));
    cache
        .set_add(&k("online"), "u2", Duration::from_secs(30))
        .await
        .unwrap();
    cache
        .set_add(&k("online"), "u1", Duration::from_secs(30))
        .await
        .unwrap();
    cache
        .set_add(&k("online"), "u1", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(cache.set_members(&k("online")).await.unwrap(), ["u1", "u2"]);
    cache.set_remove(&k("online"), "u2").await.unwrap();
    assert_eq!(cache.set_members(&k("online")).await.unwrap(), ["u1"]);
    assert!(cache.set_members(&k("nobody")).await.unwrap().is_empty());
}

async fn secrets_versions(app: &TestApp) {
    let secrets = &app.stores().secrets;
    let name = format!("{}-signing-key", app.unique);
    assert!(secrets.versions(&name).await.unwrap().is_empty());
    let v1 = secrets.set(&name, "first").await.unwrap();
    let v2 = secrets.set(&name, "second").await.unwrap();
    assert_ne!(v1.version, v2.version);
    let versions = secrets.versions(&name).await.unwrap();
    let values: Vec<&str> = versions.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["second", "first"], "newest first");
    assert_eq!(versions[0].version, v2.version);
}

async fn blobs_read_prefix_and_read_headers(app: &TestApp) {
    let blobs = &app.stores().blobs;
    let name = format!("{}/notes.txt", app.unique);
    let options = PutOptions {
        content_type: Some("text/plain".into()),
        ..Default::default()
    };
    blobs
        .put("files", &name, "abcdef".into(), options)
        .await
        .unwrap();
    let prefix = blobs.read_prefix("files", &name, 3).await.unwrap().unwrap();
    assert_eq!(prefix.as_ref(), b"abc");
    let all = blobs
        .read_prefix("files", &name, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.as_ref(), b"abcdef");
    let missing = format!("{}/none.txt", app.unique);
    assert!(
        blobs
            .read_prefix("files", &missing, 3)
            .await
            .unwrap()
            .is_none()
    );

    // A read URL can make the service answer with another type and a download name.
    let headers = ReadHeaders {
        content_type: Some("application/pdf".into()),
        content_disposition: Some("attachment; filename=\"a b.pdf\"".into()),
    };
    let expires = Utc::now() + chrono::Duration::minutes(5);
    let url = blobs
        .signed_url("files", &name, SasAccess::Read, expires, &headers)
        .await
        .unwrap();
    let got = reqwest::get(url).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"a b.pdf\""
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"abcdef");
}

/// A document of the typed collection layer's own, in a container that has `/id` as its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counter {
    id: String,
    count: u32,
}
portal_api::document!(Counter, JOBS, id);

async fn collection_update_with_retries_keeps_and_creates_once(app: &TestApp) {
    let counters = app.stores().collection::<Counter>();
    let counter = |count| Counter {
        id: "counter".into(),
        count,
    };
    assert!(counters.create_if_absent(&counter(0)).await.unwrap());
    assert!(!counters.create_if_absent(&counter(99)).await.unwrap());

    // Every increment reads, changes and writes with If-Match; the losers of each race read
    // again, so none is lost and none applied twice. With 20 writers on one document a writer
    // can lose every one of its attempts (`Contended`, the 503 an API caller would get), and
    // then nothing was written: it is tried again, as a client would.
    let increment = || async {
        for _ in 0..20 {
            let result = counters
                .update_with("counter", "counter", |doc| {
                    doc.count += 1;
                    Ok::<_, StoreError>(Change::Write(doc.count))
                })
                .await;
            match result {
                Ok(Some((_, count))) => return count,
                Ok(None) => panic!("the counter exists"),
                Err(StoreError::Contended(_)) => continue,
                Err(e) => panic!("{e:?}"),
            }
        }
        panic!("still contended after 20 tries");
    };
    let mut seen: Vec<u32> = join_all((0..20).map(|_| increment())).await;
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<_>>(),
        "each write saw its own count"
    );
    let stored = counters
        .get_versioned("counter", "counter")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.doc, counter(20));

    // Keep answers without writing: the ETag stays as it was.
    let kept = counters
        .update_with("counter", "counter", |doc| {
            doc.count = 0;
            Ok::<_, StoreError>(Change::Keep("kept"))
        })
        .await
        .unwrap();
    assert_eq!(kept.map(|(_, answer)| answer), Some("kept"));
    let after = counters
        .get_versioned("counter", "counter")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.doc, after.etag), (counter(20), stored.etag));

    // A missing document is no error, and the change is never called.
    let missing = counters
        .update_with("nobody", "nobody", |_| -> Result<Change<()>, StoreError> {
            panic!("called for a missing document")
        })
        .await
        .unwrap();
    assert!(missing.is_none());
}
