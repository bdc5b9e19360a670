//! The store calls of the hot operations, pinned through a counting wrapper around the
//! documents store, on both backends: a signed-in `GET users/me` is one document read (and no
//! write or query), `POST messages` three document writes whatever the number of members, and
//! `GET conversations` one query per page whatever the number of conversations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use portal_api::store::{Doc, Documents, Filter, Page, PatchOp, Query, StoreResult};
use serde_json::Value;

use crate::chat::{Person, conversation, person, say};
use crate::helpers::{Kind, Options, TestApp, spawn_app_with};
use crate::http::get;

#[derive(Default)]
struct Counts {
    reads: AtomicUsize,
    writes: AtomicUsize,
    queries: AtomicUsize,
}

impl Counts {
    fn take(&self) -> (usize, usize, usize) {
        (
            self.reads.swap(0, Ordering::SeqCst),
            self.writes.swap(0, Ordering::SeqCst),
            self.queries.swap(0, Ordering::SeqCst),
        )
    }
}

/// Counts every call, then passes it on.
struct Counting {
    inner: Arc<dyn Documents>,
    counts: Arc<Counts>,
}

impl Counting {
    fn write(&self) {
        self.counts.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Documents for Counting {
    async fn get(&self, container: &str, pk: &str, id: &str) -> StoreResult<Option<Doc>> {
        self.counts.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(container, pk, id).await
    }
    async fn create(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc> {
        self.write();
        self.inner.create(container, pk, doc).await
    }
    async fn replace(
        &self,
        container: &str,
        pk: &str,
        doc: Value,
        if_match: Option<&str>,
    ) -> StoreResult<Doc> {
        self.write();
        self.inner.replace(container, pk, doc, if_match).await
    }
    async fn upsert(&self, container: &str, pk: &str, doc: Value) -> StoreResult<Doc> {
        self.write();
        self.inner.upsert(container, pk, doc).await
    }
    async fn delete(&self, container: &str, pk: &str, id: &str) -> StoreResult<()> {
        self.write();
        self.inner.delete(container, pk, id).await
    }
    async fn patch(
        &self,
        container: &str,
        pk: &str,
        id: &str,
        ops: &[PatchOp],
        condition: Option<&Filter>,
    ) -> StoreResult<Doc> {
        self.write();
        self.inner.patch(container, pk, id, ops, condition).await
    }
    async fn query(
        &self,
        container: &str,
        pk: Option<&str>,
        query: &Query,
        continuation: Option<&str>,
    ) -> StoreResult<Page<Doc>> {
        self.counts.queries.fetch_add(1, Ordering::SeqCst);
        self.inner.query(container, pk, query, continuation).await
    }
    async fn purge_expired(&self) -> StoreResult<u64> {
        self.inner.purge_expired().await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

async fn counted(kind: Kind) -> (TestApp, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    let app = spawn_app_with(
        kind,
        Options {
            stores: Some(Box::new(move |stores| {
                let inner = stores.documents.clone();
                stores.documents = Arc::new(Counting {
                    inner,
                    counts: shared,
                });
            })),
            ..Options::default()
        },
    )
    .await;
    (app, counts)
}

both!(
    users_me_is_one_document_read,
    a_message_to_a_hundred_members_is_three_writes,
    the_conversation_list_is_two_queries_a_page,
);

async fn users_me_is_one_document_read(kind: Kind) {
    let (app, counts) = counted(kind).await;
    let ada = person(&app, "ada").await;
    assert_eq!(
        get(&app, "/api/v1/users/me", &ada.token).await.status(),
        200
    );
    counts.take();
    for _ in 0..3 {
        assert_eq!(
            get(&app, "/api/v1/users/me", &ada.token).await.status(),
            200
        );
        assert_eq!(
            counts.take(),
            (1, 0, 0),
            "reads, writes, queries of one users/me"
        );
    }
}

async fn a_message_to_a_hundred_members_is_three_writes(kind: Kind) {
    let (app, counts) = counted(kind).await;
    let ada = person(&app, "ada").await;
    let mut others: Vec<Person> = Vec::new();
    for n in 0..99 {
        others.push(person(&app, &format!("member{n}")).await);
    }
    let with: Vec<&Person> = others.iter().collect();
    let group = conversation(&app, &ada, "group", &with).await;
    say(&app, &ada, &group, "warm up").await;
    for (who, text) in [(&ada, "hello all"), (&others[41], "hello ada")] {
        counts.take();
        say(&app, who, &group, text).await;
        let (_, writes, _) = counts.take();
        // The clientMessageId claim, the conversation (sequence, last message, the sender's
        // read position) and the message.
        assert_eq!(writes, 3, "document writes of one message to 100 members");
    }
    // And the members see it: unread counts come from the sequence, not from 99 writes.
    let listed = get(&app, "/api/v1/conversations", &others[7].token).await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["items"][0]["unreadCount"], 3);
    let sender = get(&app, "/api/v1/conversations", &others[41].token).await;
    let sender: Value = sender.json().await.unwrap();
    assert_eq!(
        sender["items"][0]["unreadCount"], 2,
        "the sender's own message is not unread"
    );
    assert_eq!(sender["items"][0]["lastMessage"]["preview"], "hello ada");
}

async fn the_conversation_list_is_two_queries_a_page(kind: Kind) {
    let (app, counts) = counted(kind).await;
    let ada = person(&app, "ada").await;
    let mut others = Vec::new();
    for name in ["bo", "cy", "di", "ed"] {
        others.push(person(&app, name).await);
    }
    for other in &others {
        conversation(&app, &ada, "direct", &[other]).await;
    }
    counts.take();
    let page = get(&app, "/api/v1/conversations?limit=2", &ada.token).await;
    assert_eq!(page.status(), 200);
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    // The conversations, and one query for the names of everyone the page shows.
    assert_eq!(
        counts.take(),
        (0, 0, 2),
        "reads, writes, queries of one page"
    );
    let cursor = page["nextCursor"].as_str().expect("a second page");
    let next = get(
        &app,
        &format!("/api/v1/conversations?limit=2&cursor={}", urlencode(cursor)),
        &ada.token,
    )
    .await;
    assert_eq!(next.status(), 200);
    assert_eq!(
        counts.take(),
        (0, 0, 2),
        "reads, writes, queries of the next page"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
