//! Chat over REST on both backends: conversations, participants and rights, idempotent sends,
//! stable paging, unread counts, edits and deletes, encryption support, search, TTL, files,
//! export and erase.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{PASSWORD, call, get, json_of, problem, user};

both!(
    direct_conversations_are_found_not_duplicated,
    groups_have_admins_and_rights,
    non_members_see_nothing,
    sends_are_idempotent_and_validated,
    paging_is_stable_while_messages_arrive,
    unread_counts_follow_read_receipts,
    the_conversation_list_pages_by_activity_without_repeats,
    a_conversation_stored_before_read_positions_still_counts,
    edits_and_deletes_follow_their_rights,
    ciphertext_is_opaque_and_keys_are_kept,
    search_stays_in_my_conversations,
    a_message_ttl_hides_older_messages,
    attachments_become_readable_by_members,
    typing_is_validated,
    export_and_erase_cover_chat,
    a_member_cannot_overwrite_anothers_envelope,
    a_send_claim_keeps_no_message_content,
);

pub struct Person {
    pub token: String,
    pub id: String,
}

pub async fn person(app: &TestApp, name: &str) -> Person {
    let token = user(app, name).await;
    let me: Value = call(app, Method::GET, "/api/v1/users/me", Some(&token), None)
        .await
        .json()
        .await
        .unwrap();
    Person {
        token,
        id: me["id"].as_str().unwrap().to_owned(),
    }
}

pub async fn start(app: &TestApp, who: &Person, kind: &str, with: &[&Person]) -> reqwest::Response {
    let ids: Vec<&str> = with.iter().map(|p| p.id.as_str()).collect();
    call(
        app,
        Method::POST,
        "/api/v1/conversations",
        Some(&who.token),
        Some(json!({"type": kind, "participantIds": ids, "name": (kind == "group").then_some("Team")})),
    )
    .await
}

pub async fn conversation(app: &TestApp, who: &Person, kind: &str, with: &[&Person]) -> String {
    let response = start(app, who, kind, with).await;
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

pub async fn send(
    app: &TestApp,
    who: &Person,
    conversation: &str,
    body: Value,
) -> reqwest::Response {
    call(
        app,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/messages"),
        Some(&who.token),
        Some(body),
    )
    .await
}

pub async fn say(app: &TestApp, who: &Person, conversation: &str, text: &str) -> Value {
    let response = send(
        app,
        who,
        conversation,
        json!({"clientMessageId": uuid::Uuid::new_v4().to_string(), "text": text}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn direct_conversations_are_found_not_duplicated(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c, d) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
        person(&app, "d").await,
    );
    let first = start(&app, &a, "direct", &[&b]).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["type"], "direct");
    assert_eq!(first["peerId"], b.id.as_str());
    let again = start(&app, &b, "direct", &[&a]).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["peerId"], a.id.as_str());

    // Both at once: one conversation.
    let (with_d, with_c) = ([&d], [&c]);
    let (x, y) = tokio::join!(
        start(&app, &c, "direct", &with_d),
        start(&app, &d, "direct", &with_c)
    );
    let mut statuses = vec![x.status().as_u16(), y.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 201]);
    let (x, y): (Value, Value) = (x.json().await.unwrap(), y.json().await.unwrap());
    assert_eq!(x["id"], y["id"]);
    let listed = json_of(get(&app, "/api/v1/conversations", &c.token).await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let ghost = call(
        &app,
        Method::POST,
        "/api/v1/conversations",
        Some(&a.token),
        Some(json!({"type": "direct", "participantIds": ["no-such-user"]})),
    )
    .await;
    let body = problem(ghost, 400, "UNKNOWN_PARTICIPANTS").await;
    assert!(body["detail"].as_str().unwrap().contains("no-such-user"));
    let two = start(&app, &a, "direct", &[&b, &c]).await;
    problem(two, 400, "VALIDATION_FAILED").await;
    let odd = call(
        &app,
        Method::POST,
        "/api/v1/conversations",
        Some(&a.token),
        Some(json!({"type": "channel", "participantIds": [b.id]})),
    )
    .await;
    problem(odd, 400, "VALIDATION_FAILED").await;
}

async fn groups_have_admins_and_rights(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c, d) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
        person(&app, "d").await,
    );
    let id = conversation(&app, &a, "group", &[&b, &c]).await;
    let path = format!("/api/v1/conversations/{id}");
    let group = json_of(get(&app, &path, &a.token).await).await;
    assert_eq!(group["role"], "admin");
    assert_eq!(group["admins"], json!([a.id]));
    assert_eq!(group["participantIds"].as_array().unwrap().len(), 3);

    let rename = |who: &Person, name: &str| {
        let (app, path, token, body) =
            (&app, path.clone(), who.token.clone(), json!({"name": name}));
        async move { call(app, Method::PATCH, &path, Some(&token), Some(body)).await }
    };
    problem(rename(&b, "Mine").await, 403, "FORBIDDEN").await;
    let renamed = json_of(rename(&a, "Study group").await).await;
    assert_eq!(renamed["name"], "Study group");
    let listed = json_of(get(&app, "/api/v1/conversations", &b.token).await).await;
    assert_eq!(listed["items"][0]["name"], "Study group");
    problem(rename(&a, "").await, 400, "VALIDATION_FAILED").await;

    let participants = format!("{path}/participants");
    let add = |who: &Person, user: &str| {
        let (app, path, token) = (&app, participants.clone(), who.token.clone());
        let body = json!({"userId": user});
        async move { call(app, Method::POST, &path, Some(&token), Some(body)).await }
    };
    problem(add(&b, &d.id).await, 403, "FORBIDDEN").await;
    problem(add(&a, "nobody").await, 400, "UNKNOWN_PARTICIPANTS").await;
    let added = json_of(add(&a, &d.id).await).await;
    assert_eq!(added["participantIds"].as_array().unwrap().len(), 4);
    assert_eq!(get(&app, &path, &d.token).await.status(), 200);

    let remove = |who: &Person, user: &str| {
        let (app, path, token) = (&app, format!("{participants}/{user}"), who.token.clone());
        async move { call(app, Method::DELETE, &path, Some(&token), None).await }
    };
    problem(remove(&b, &c.id).await, 403, "FORBIDDEN").await;
    assert_eq!(remove(&b, &b.id).await.status(), 204, "anyone may leave");
    problem(get(&app, &path, &b.token).await, 404, "NOT_FOUND").await;
    assert_eq!(remove(&a, &c.id).await.status(), 204);
    problem(remove(&a, &c.id).await, 404, "NOT_FOUND").await;
    // The last admin leaves: the longest-standing member takes over.
    assert_eq!(remove(&a, &a.id).await.status(), 204);
    let left = json_of(get(&app, &path, &d.token).await).await;
    assert_eq!(left["participantIds"], json!([d.id]));
    assert_eq!(left["role"], "admin");

    let direct = conversation(&app, &a, "direct", &[&b]).await;
    let not_group = call(
        &app,
        Method::POST,
        &format!("/api/v1/conversations/{direct}/participants"),
        Some(&a.token),
        Some(json!({"userId": c.id})),
    )
    .await;
    problem(not_group, 400, "NOT_A_GROUP").await;
}

async fn non_members_see_nothing(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, stranger) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "s").await,
    );
    let id = conversation(&app, &a, "group", &[&b]).await;
    let message = say(&app, &a, &id, "private").await;
    let message_id = message["id"].as_str().unwrap();
    let base = format!("/api/v1/conversations/{id}");
    let attempts = [
        (Method::GET, base.clone(), None),
        (Method::PATCH, base.clone(), Some(json!({"name": "x"}))),
        (Method::GET, format!("{base}/messages"), None),
        (
            Method::POST,
            format!("{base}/messages"),
            Some(json!({"clientMessageId": "m1", "text": "hi"})),
        ),
        (
            Method::POST,
            format!("{base}/read"),
            Some(json!({"messageId": message_id})),
        ),
        (
            Method::POST,
            format!("{base}/typing"),
            Some(json!({"state": "start"})),
        ),
        (
            Method::POST,
            format!("{base}/participants"),
            Some(json!({"userId": stranger.id})),
        ),
        (
            Method::DELETE,
            format!("{base}/participants/{}", b.id),
            None,
        ),
        (
            Method::PUT,
            format!("{base}/keys"),
            Some(json!({"envelopes": {}})),
        ),
        (Method::GET, format!("{base}/keys/me"), None),
        (
            Method::PATCH,
            format!("/api/v1/messages/{message_id}"),
            Some(json!({"text": "x"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/messages/{message_id}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/messages/search?q=private&conversationId={id}"),
            None,
        ),
        (Method::GET, "/api/v1/conversations/..%2Fx".to_owned(), None),
    ];
    for (method, path, body) in attempts {
        let response = call(&app, method.clone(), &path, Some(&stranger.token), body).await;
        problem(response, 404, "NOT_FOUND").await;
    }
    let anonymous = call(&app, Method::GET, "/api/v1/conversations", None, None).await;
    problem(anonymous, 401, "UNAUTHORIZED").await;
}

async fn sends_are_idempotent_and_validated(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let body = json!({"clientMessageId": "c-1", "text": "  hello  "});
    let first = send(&app, &a, &id, body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["text"], "hello");
    assert_eq!(first["senderId"], a.id.as_str());
    let retry = send(&app, &a, &id, body.clone()).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    // The same id from someone else is their own message.
    let theirs = send(&app, &b, &id, body).await;
    assert_eq!(theirs.status(), 201);

    // Five retries racing: one message.
    let racing = json!({"clientMessageId": "c-2", "text": "once"});
    let sends = (0..5).map(|_| send(&app, &a, &id, racing.clone()));
    let responses = futures::future::join_all(sends).await;
    let created = responses.iter().filter(|r| r.status() == 201).count();
    assert_eq!(created, 1);
    let mut ids = Vec::new();
    for r in responses {
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].clone());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let page = json_of(
        get(
            &app,
            &format!("/api/v1/conversations/{id}/messages"),
            &a.token,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    for bad in [
        json!({"clientMessageId": "v1", "text": ""}),
        json!({"clientMessageId": "v2", "text": "x".repeat(4001)}),
        json!({"clientMessageId": "v3"}),
        json!({"clientMessageId": "v4", "text": "a", "ciphertext": {"alg": "A", "iv": "i", "data": "d", "keyId": "k"}}),
        json!({"clientMessageId": "v5", "ciphertext": {"alg": "A"}}),
        json!({"clientMessageId": "has spaces", "text": "a"}),
        json!({"clientMessageId": "v6", "text": "a", "replyTo": "nope"}),
    ] {
        problem(send(&app, &a, &id, bad).await, 400, "VALIDATION_FAILED").await;
    }
    let max = send(
        &app,
        &a,
        &id,
        json!({"clientMessageId": "v7", "text": "é".repeat(4000)}),
    )
    .await;
    assert_eq!(max.status(), 201);
    let reply = send(
        &app,
        &b,
        &id,
        json!({"clientMessageId": "v8", "text": "re", "replyTo": first["id"]}),
    )
    .await;
    assert_eq!(reply.status(), 201);
}

async fn paging_is_stable_while_messages_arrive(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    let mut sent = Vec::new();
    for n in 0..25 {
        sent.push(say(&app, &a, &id, &format!("m{n}")).await["id"].clone());
    }
    let path = format!("/api/v1/conversations/{id}/messages?limit=10");
    let first = json_of(get(&app, &path, &b.token).await).await;
    let mut seen: Vec<Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(first["items"][0]["text"], "m24", "newest first");
    let mut cursor = first["nextCursor"].as_str().unwrap().to_owned();
    // New messages arrive while the client pages back.
    for n in 0..5 {
        say(&app, &b, &id, &format!("new{n}")).await;
    }
    loop {
        let page = json_of(get(&app, &format!("{path}&before={cursor}"), &b.token).await).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].clone()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(
        seen, sent,
        "every message once, newest first, none of the new ones"
    );
}

async fn unread_counts_follow_read_receipts(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let first = say(&app, &a, &id, "one").await;
    let second = say(&app, &a, &id, "two").await;
    say(&app, &a, &id, "three").await;
    let listed = json_of(get(&app, "/api/v1/conversations", &b.token).await).await;
    let item = &listed["items"][0];
    assert_eq!(item["unreadCount"], 3);
    assert_eq!(item["lastMessage"]["preview"], "three");
    assert_eq!(item["lastMessage"]["senderId"], a.id.as_str());
    let mine = json_of(get(&app, "/api/v1/conversations", &a.token).await).await;
    assert_eq!(mine["items"][0]["unreadCount"], 0);

    let read = |message: &Value| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/conversations/{id}/read"),
            b.token.clone(),
        );
        let body = json!({"messageId": message["id"]});
        async move { call(app, Method::POST, &path, Some(&token), Some(body)).await }
    };
    assert_eq!(json_of(read(&second).await).await["unreadCount"], 1);
    let stats = json_of(get(&app, "/api/v1/dashboard/stats", &b.token).await).await;
    assert_eq!(stats["unreadMessages"], 1);
    assert_eq!(json_of(read(&first).await).await["unreadCount"], 2);
    let last = say(&app, &a, &id, "four").await;
    assert_eq!(json_of(read(&last).await).await["unreadCount"], 0);
    let listed = json_of(get(&app, "/api/v1/conversations", &b.token).await).await;
    assert_eq!(listed["items"][0]["unreadCount"], 0);
    problem(read(&json!({"id": "missing"})).await, 404, "NOT_FOUND").await;

    // Most recent activity first.
    let other = conversation(&app, &b, "group", &[&a]).await;
    say(&app, &a, &other, "newer").await;
    let listed = json_of(get(&app, "/api/v1/conversations", &b.token).await).await;
    assert_eq!(listed["items"][0]["id"], other.as_str());
    assert_eq!(listed["items"][1]["id"], id.as_str());
}

async fn the_conversation_list_pages_by_activity_without_repeats(kind: Kind) {
    let app = portal(kind, &[]).await;
    let me = person(&app, "me").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let other = person(&app, &format!("other{n}")).await;
        ids.push(conversation(&app, &me, "direct", &[&other]).await);
    }
    // The oldest conversation gets the newest message: it comes first.
    say(&app, &me, &ids[0], "bump").await;
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/v1/conversations?limit=2".to_owned();
    loop {
        let page = json_of(get(&app, &path, &me.token).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                let cursor: String =
                    url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
                path = format!("/api/v1/conversations?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "every conversation once: {seen:?}");
    assert_eq!(seen[0], ids[0]);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "no repeats: {seen:?}");
    problem(
        get(&app, "/api/v1/conversations?cursor=not-a-cursor", &me.token).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
}

/// A conversation written before it carried a sequence and read positions (as stored data of
/// an earlier version is): sending and reading in it still work and count.
async fn a_conversation_stored_before_read_positions_still_counts(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let documents = &app.state.stores.documents;
    let mut old = documents
        .get("conversations", &id, &id)
        .await
        .unwrap()
        .expect("the conversation document")
        .value;
    for field in ["seq", "reads", "lastMessage", "lastActivityAt"] {
        old.as_object_mut().unwrap().remove(field);
    }
    documents
        .replace("conversations", &id, old, None)
        .await
        .unwrap();

    let sent = say(&app, &a, &id, "from before").await;
    let listed = json_of(get(&app, "/api/v1/conversations", &b.token).await).await;
    assert_eq!(listed["items"][0]["unreadCount"], 1);
    let mine = json_of(get(&app, "/api/v1/conversations", &a.token).await).await;
    assert_eq!(mine["items"][0]["unreadCount"], 0);
    let read = call(
        &app,
        Method::POST,
        &format!("/api/v1/conversations/{id}/read"),
        Some(&b.token),
        Some(json!({"messageId": sent["id"]})),
    )
    .await;
    assert_eq!(json_of(read).await["unreadCount"], 0);
}

async fn edits_and_deletes_follow_their_rights(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let id = conversation(&app, &a, "group", &[&b, &c]).await;
    let from_b = say(&app, &b, &id, "typo").await;
    let from_c = say(&app, &c, &id, "mine").await;
    let edit = |who: &Person, message: &Value, body: Value| {
        let path = format!("/api/v1/messages/{}", message["id"].as_str().unwrap());
        let (app, token) = (&app, who.token.clone());
        async move { call(app, Method::PATCH, &path, Some(&token), Some(body)).await }
    };
    let delete = |who: &Person, message: &Value| {
        let path = format!("/api/v1/messages/{}", message["id"].as_str().unwrap());
        let (app, token) = (&app, who.token.clone());
        async move { call(app, Method::DELETE, &path, Some(&token), None).await }
    };
    problem(
        edit(&a, &from_b, json!({"text": "no"})).await,
        403,
        "FORBIDDEN",
    )
    .await;
    problem(
        edit(&b, &from_b, json!({"text": ""})).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    let edited = json_of(edit(&b, &from_b, json!({"text": "fixed"})).await).await;
    assert_eq!(edited["text"], "fixed");
    assert!(edited["editedAt"].is_string());
    problem(delete(&c, &from_b).await, 403, "FORBIDDEN").await;
    // The group's admin may delete anyone's message; the content goes, the message stays.
    assert_eq!(delete(&a, &from_b).await.status(), 204);
    assert_eq!(delete(&c, &from_c).await.status(), 204);
    assert_eq!(
        delete(&c, &from_c).await.status(),
        204,
        "deleting again is harmless"
    );
    problem(
        edit(&b, &from_b, json!({"text": "back"})).await,
        409,
        "MESSAGE_DELETED",
    )
    .await;
    let page = json_of(
        get(
            &app,
            &format!("/api/v1/conversations/{id}/messages"),
            &c.token,
        )
        .await,
    )
    .await;
    for message in page["items"].as_array().unwrap() {
        assert!(message["deletedAt"].is_string());
        assert_eq!(message["text"], Value::Null);
    }
}

async fn ciphertext_is_opaque_and_keys_are_kept(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let secret = json!({"alg": "AES-GCM", "iv": "AAECAwQFBgcICQoL", "data": "c2VjcmV0IHN0dWZm", "keyId": "k1"});
    let sent = send(
        &app,
        &a,
        &id,
        json!({"clientMessageId": "e1", "ciphertext": secret}),
    )
    .await;
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.unwrap();
    assert_eq!(sent["ciphertext"], secret);
    assert_eq!(sent["text"], Value::Null);
    let page = json_of(
        get(
            &app,
            &format!("/api/v1/conversations/{id}/messages"),
            &b.token,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"][0]["ciphertext"], secret);
    let found = json_of(get(&app, "/api/v1/messages/search?q=secret", &b.token).await).await;
    assert!(found["items"].as_array().unwrap().is_empty());

    let keys = format!("/api/v1/conversations/{id}/keys");
    let envelopes = json!({"envelopes": {a.id.clone(): {"wrapped": "for-a"}, b.id.clone(): {"wrapped": "for-b"}}});
    let put = call(&app, Method::PUT, &keys, Some(&a.token), Some(envelopes)).await;
    assert_eq!(put.status(), 204);
    let mine = json_of(get(&app, &format!("{keys}/me"), &b.token).await).await;
    assert_eq!(
        mine["envelopes"],
        json!([{"senderId": a.id, "envelope": {"wrapped": "for-b"}, "updatedAt": mine["envelopes"][0]["updatedAt"]}])
    );
    let outsider = json!({"envelopes": {c.id.clone(): {"wrapped": "x"}}});
    let refused = call(&app, Method::PUT, &keys, Some(&a.token), Some(outsider)).await;
    problem(refused, 400, "VALIDATION_FAILED").await;
    let other = conversation(&app, &a, "direct", &[&c]).await;
    problem(
        get(
            &app,
            &format!("/api/v1/conversations/{other}/keys/me"),
            &c.token,
        )
        .await,
        404,
        "NO_KEY",
    )
    .await;

    problem(
        get(&app, "/api/v1/users/me/key-backup", &a.token).await,
        404,
        "NO_BACKUP",
    )
    .await;
    let backup = json!({"backup": {"salt": "s", "blob": "b".repeat(100)}});
    let stored = call(
        &app,
        Method::PUT,
        "/api/v1/users/me/key-backup",
        Some(&a.token),
        Some(backup.clone()),
    )
    .await;
    assert_eq!(stored.status(), 200);
    let got = json_of(get(&app, "/api/v1/users/me/key-backup", &a.token).await).await;
    assert_eq!(got["backup"], backup["backup"]);
    problem(
        get(&app, "/api/v1/users/me/key-backup", &b.token).await,
        404,
        "NO_BACKUP",
    )
    .await;
    let huge = json!({"backup": "x".repeat(70 * 1024)});
    let refused = call(
        &app,
        Method::PUT,
        "/api/v1/users/me/key-backup",
        Some(&a.token),
        Some(huge),
    )
    .await;
    problem(refused, 413, "PAYLOAD_TOO_LARGE").await;
}

async fn search_stays_in_my_conversations(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let ab = conversation(&app, &a, "direct", &[&b]).await;
    let ac = conversation(&app, &a, "direct", &[&c]).await;
    say(&app, &a, &ab, "Hello World").await;
    say(&app, &a, &ac, "hello there").await;
    say(&app, &a, &ab, "unrelated").await;
    let found = json_of(get(&app, "/api/v1/messages/search?q=HELLO", &b.token).await).await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["text"], "Hello World");
    let both = json_of(get(&app, "/api/v1/messages/search?q=hello", &a.token).await).await;
    assert_eq!(both["items"].as_array().unwrap().len(), 2);
    let one = json_of(
        get(
            &app,
            &format!("/api/v1/messages/search?q=hello&conversationId={ac}"),
            &a.token,
        )
        .await,
    )
    .await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    problem(
        get(
            &app,
            &format!("/api/v1/messages/search?q=hello&conversationId={ac}"),
            &b.token,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        get(&app, "/api/v1/messages/search?q=h", &a.token).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

async fn a_message_ttl_hides_older_messages(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    let path = format!("/api/v1/conversations/{id}");
    let bad = call(
        &app,
        Method::PATCH,
        &path,
        Some(&a.token),
        Some(json!({"messageTtlSeconds": 5})),
    )
    .await;
    problem(bad, 400, "VALIDATION_FAILED").await;
    let old = say(&app, &a, &id, "old news").await;
    let set = call(
        &app,
        Method::PATCH,
        &path,
        Some(&a.token),
        Some(json!({"messageTtlSeconds": 60})),
    )
    .await;
    assert_eq!(json_of(set).await["messageTtlSeconds"], 60);
    let fresh = say(&app, &b, &id, "fresh").await;
    // Time passes for the old one.
    let earlier = (chrono::Utc::now() - chrono::Duration::minutes(2)).to_rfc3339();
    app.stores()
        .documents
        .patch(
            "messages",
            &id,
            old["id"].as_str().unwrap(),
            &[portal_api::store::PatchOp::Set(
                "/createdAt".into(),
                json!(earlier),
            )],
            None,
        )
        .await
        .unwrap();
    let page = json_of(get(&app, &format!("{path}/messages"), &b.token).await).await;
    let ids: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, vec![&fresh["id"]]);
    let found = json_of(get(&app, "/api/v1/messages/search?q=news", &b.token).await).await;
    assert!(found["items"].as_array().unwrap().is_empty());
    let cleared = call(
        &app,
        Method::PATCH,
        &path,
        Some(&a.token),
        Some(json!({"messageTtlSeconds": null})),
    )
    .await;
    assert_eq!(json_of(cleared).await["messageTtlSeconds"], Value::Null);
}

async fn attachments_become_readable_by_members(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, stranger) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "s").await,
    );
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let pdf = b"%PDF-1.7\n%%EOF\n".to_vec();
    let ticket = json_of(
        call(
            &app,
            Method::POST,
            "/api/v1/files/upload-url",
            Some(&a.token),
            Some(json!({"fileName": "notes.pdf", "fileType": "application/pdf", "fileSize": pdf.len(), "category": "attachment"})),
        )
        .await,
    )
    .await;
    let put = app
        .client
        .put(ticket["uploadUrl"].as_str().unwrap())
        .header("x-ms-blob-type", "BlockBlob")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let file_id = ticket["fileId"].as_str().unwrap();
    let file_path = format!("/api/v1/files/{file_id}");
    // Not yet complete: not attachable.
    let early = send(
        &app,
        &a,
        &id,
        json!({"clientMessageId": "f0", "attachments": [file_id]}),
    )
    .await;
    problem(early, 400, "FILE_NOT_READY").await;
    json_of(
        call(
            &app,
            Method::POST,
            "/api/v1/files/complete",
            Some(&a.token),
            Some(json!({"fileId": file_id})),
        )
        .await,
    )
    .await;
    problem(get(&app, &file_path, &b.token).await, 404, "NOT_FOUND").await;
    let sent = send(
        &app,
        &a,
        &id,
        json!({"clientMessageId": "f1", "text": "see attached", "attachments": [file_id]}),
    )
    .await;
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.unwrap();
    assert_eq!(sent["attachments"][0]["fileName"], "notes.pdf");
    let seen = json_of(get(&app, &file_path, &b.token).await).await;
    assert!(seen["downloadUrl"].is_string());
    problem(
        get(&app, &file_path, &stranger.token).await,
        404,
        "NOT_FOUND",
    )
    .await;
    // Someone else's file cannot be attached.
    let theirs = send(
        &app,
        &b,
        &id,
        json!({"clientMessageId": "f2", "attachments": [file_id]}),
    )
    .await;
    problem(theirs, 400, "FILE_NOT_READY").await;
}

async fn typing_is_validated(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let typing = |state: &str| {
        let (app, path, token) = (
            &app,
            format!("/api/v1/conversations/{id}/typing"),
            a.token.clone(),
        );
        let body = json!({"state": state});
        async move { call(app, Method::POST, &path, Some(&token), Some(body)).await }
    };
    assert_eq!(typing("start").await.status(), 204);
    assert_eq!(typing("stop").await.status(), 204);
    problem(typing("dancing").await, 400, "VALIDATION_FAILED").await;
}

async fn export_and_erase_cover_chat(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "group", &[&b]).await;
    say(&app, &a, &id, "remember me").await;
    say(&app, &b, &id, "I will").await;
    let export = json_of(get(&app, "/api/v1/users/me/data-export", &a.token).await).await;
    assert_eq!(export["chat"]["memberships"].as_array().unwrap().len(), 1);
    let messages = export["chat"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "remember me");

    let erased = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&a.token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erased.status(), 202);
    let path = format!("/api/v1/conversations/{id}/messages");
    for _ in 0..150 {
        let page = json_of(get(&app, &path, &b.token).await).await;
        let items = page["items"].as_array().unwrap();
        let gone = items
            .iter()
            .find(|m| m["senderId"] == a.id.as_str())
            .unwrap();
        if gone["senderDeleted"] == true {
            assert_eq!(gone["text"], Value::Null);
            assert!(items.iter().any(|m| m["text"] == "I will"));
            let group =
                json_of(get(&app, &format!("/api/v1/conversations/{id}"), &b.token).await).await;
            assert_eq!(group["participantIds"], json!([b.id]));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the erase did not reach the chat");
}

async fn a_member_cannot_overwrite_anothers_envelope(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let id = conversation(&app, &a, "group", &[&b, &c]).await;
    let keys = format!("/api/v1/conversations/{id}/keys");
    let put = |who: &Person, body: Value| {
        let token = who.token.clone();
        let (app, keys) = (&app, &keys);
        async move { call(app, Method::PUT, keys, Some(&token), Some(body)).await }
    };
    let from_a = json!({"envelopes": {b.id.clone(): {"wrapped": "a-for-b"}}});
    assert_eq!(put(&a, from_a).await.status(), 204);
    // C, a member too, stores an envelope for B: it is C's, beside A's, not in its place.
    let from_c = json!({"envelopes": {b.id.clone(): {"wrapped": "c-for-b"}}});
    assert_eq!(put(&c, from_c).await.status(), 204);
    let envelopes_of_b = || async {
        let mine = json_of(get(&app, &format!("{keys}/me"), &b.token).await).await;
        let mut by_sender: Vec<(String, Value)> = mine["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["senderId"].as_str().unwrap().to_owned(),
                    e["envelope"].clone(),
                )
            })
            .collect();
        by_sender.sort_by(|x, y| x.0.cmp(&y.0));
        by_sender
    };
    let mut expected = vec![
        (a.id.clone(), json!({"wrapped": "a-for-b"})),
        (c.id.clone(), json!({"wrapped": "c-for-b"})),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(envelopes_of_b().await, expected);
    // A replaces their own envelope; C's stays as C stored it.
    let again = json!({"envelopes": {b.id.clone(): {"wrapped": "a-for-b-2"}}});
    assert_eq!(put(&a, again).await.status(), 204);
    for entry in &mut expected {
        if entry.0 == a.id {
            entry.1 = json!({"wrapped": "a-for-b-2"});
        }
    }
    assert_eq!(envelopes_of_b().await, expected);
    // Nothing was stored for C by anyone: C has no key.
    problem(
        get(&app, &format!("{keys}/me"), &c.token).await,
        404,
        "NO_KEY",
    )
    .await;
}

/// Every stored document of the conversation's partition of `messages`, as JSON text.
async fn stored_messages(app: &TestApp, conversation: &str) -> String {
    let page = app
        .stores()
        .documents
        .query(
            "messages",
            Some(conversation),
            &portal_api::store::Query::default().limit(1000),
            None,
        )
        .await
        .unwrap();
    let values: Vec<&Value> = page.items.iter().map(|d| &d.value).collect();
    serde_json::to_string(&values).unwrap()
}

async fn a_send_claim_keeps_no_message_content(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let plain = json!({"clientMessageId": "claim-1", "text": "the launch code is 1234"});
    let first = send(&app, &a, &id, plain.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let message = first["id"].as_str().unwrap();
    let edited = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/messages/{message}"),
        Some(&a.token),
        Some(json!({"text": "nothing to see"})),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let secret = json!({"alg": "AES-GCM", "iv": "AAECAwQFBgcICQoL", "data": "ZGVsZXRlZCBjaXBoZXJ0ZXh0", "keyId": "k1"});
    let sealed = send(
        &app,
        &a,
        &id,
        json!({"clientMessageId": "claim-2", "ciphertext": secret}),
    )
    .await;
    assert_eq!(sealed.status(), 201);
    let sealed: Value = sealed.json().await.unwrap();
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/messages/{}", sealed["id"].as_str().unwrap()),
        Some(&a.token),
        None,
    )
    .await;
    assert!(deleted.status().is_success(), "{}", deleted.status());

    // Edited and deleted content is nowhere in storage: not in the messages, not in claims.
    let stored = stored_messages(&app, &id).await;
    assert!(
        stored.contains(r#""kind":"claim""#),
        "the claims are stored: {stored}"
    );
    assert!(!stored.contains("launch code"), "{stored}");
    assert!(!stored.contains("ZGVsZXRlZCBjaXBoZXJ0ZXh0"), "{stored}");

    // A retry still answers the message first sent with that id, as it is now.
    let retry = send(&app, &a, &id, plain).await;
    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    assert_eq!(retry["text"], "nothing to see");
}
