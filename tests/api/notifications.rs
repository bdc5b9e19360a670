//! Notifications through HTTP on both backends: each kind where its event happens, one
//! `message` notification per conversation kept up to date, reading, preferences, export, and
//! the digest job's emails.

use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{Person, conversation, person, say};
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{address, admin_auth, call, json_of, mailbox, problem};

both!(
    each_kind_is_told_where_it_happens,
    messages_make_one_notification_per_conversation,
    notifications_are_read_one_by_one_or_all_and_stay_private,
    the_digest_sends_one_email_and_none_once_read,
);

async fn act(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Person,
    body: Option<Value>,
) -> reqwest::Response {
    call(app, method, path, Some(&who.token), body).await
}

async fn notifications(app: &TestApp, who: &Person) -> Vec<Value> {
    let page = json_of(act(app, Method::GET, "/api/v1/notifications", who, None).await).await;
    page["items"].as_array().unwrap().clone()
}

async fn unread(app: &TestApp, who: &Person) -> u64 {
    let count = json_of(
        act(
            app,
            Method::GET,
            "/api/v1/notifications/unread-count",
            who,
            None,
        )
        .await,
    )
    .await;
    count["count"].as_u64().unwrap()
}

fn of_kind<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|n| n["kind"] == kind).collect()
}

async fn each_kind_is_told_where_it_happens(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin_auth(&app, "Root").await;
    let root = Person {
        token: root["accessToken"].as_str().unwrap().to_owned(),
        id: root["user"]["id"].as_str().unwrap().to_owned(),
    };
    let (ann, bob) = (person(&app, "ann").await, person(&app, "bob").await);

    // conversation.added: to each added member, not to whoever added them.
    let group = conversation(&app, &ann, "group", &[&bob]).await;
    let bobs = notifications(&app, &bob).await;
    let added = of_kind(&bobs, "conversation.added");
    assert_eq!(added.len(), 1, "{bobs:?}");
    assert_eq!(added[0]["data"]["conversationId"], group.as_str());
    assert_eq!(added[0]["data"]["addedBy"], ann.id.as_str());
    assert!(added[0]["readAt"].is_null() && added[0]["createdAt"].is_string());
    assert!(of_kind(&notifications(&app, &ann).await, "conversation.added").is_empty());

    // form.status: a form sent while signed in, whose status an admin changes.
    let form = act(&app, Method::POST, "/api/v1/forms/contact", &bob, Some(json!({"name": "Bob", "email": address(&app, "bob"), "subject": "Hi", "message": "A question"}))).await;
    assert_eq!(form.status(), 201);
    let form_id = json_of(form).await["id"].as_str().unwrap().to_owned();
    let reviewed = act(
        &app,
        Method::PATCH,
        &format!("/api/v1/forms/{form_id}"),
        &root,
        Some(json!({"status": "reviewed"})),
    )
    .await;
    assert_eq!(reviewed.status(), 200);
    let status = notifications(&app, &bob).await;
    let status = of_kind(&status, "form.status");
    assert_eq!(status.len(), 1);
    assert_eq!(
        (&status[0]["data"]["formId"], &status[0]["data"]["status"]),
        (&json!(form_id), &json!("reviewed"))
    );

    // course.updated: learners of a course that gains lessons.
    let course = crate::course_media::new_course(&app, &root.token, "Growing").await;
    assert!(
        act(
            &app,
            Method::POST,
            &format!("/api/v1/courses/{course}/enroll"),
            &bob,
            None
        )
        .await
        .status()
        .is_success()
    );
    let mut lessons = crate::course_media::course_body("Growing")["lessons"].clone();
    lessons
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "l3", "title": "Extra", "duration": 5, "order": 3}));
    let patched = act(
        &app,
        Method::PATCH,
        &format!("/api/v1/courses/{course}"),
        &root,
        Some(json!({"lessons": lessons})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let updates = notifications(&app, &bob).await;
    let updates = of_kind(&updates, "course.updated");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["data"]["added"], json!(["Extra"]));
    assert!(
        of_kind(&notifications(&app, &ann).await, "course.updated").is_empty(),
        "not enrolled"
    );

    // invite.accepted: to whoever created the invite.
    let guest = address(&app, "guest");
    let invite = act(
        &app,
        Method::POST,
        "/api/v1/auth/invites",
        &root,
        Some(json!({"email": guest})),
    )
    .await;
    assert_eq!(invite.status(), 201);
    let token = json_of(invite).await["token"].as_str().unwrap().to_owned();
    let joined = call(&app, Method::POST, "/api/v1/auth/signup", None, Some(json!({"email": guest, "password": crate::http::PASSWORD, "name": "Guest", "inviteToken": token}))).await;
    assert_eq!(joined.status(), 201);
    let accepted = notifications(&app, &root).await;
    let accepted = of_kind(&accepted, "invite.accepted");
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["data"]["name"], "Guest");

    // preferences.notifications=false stops them.
    let off =
        json!({"preferences": {"notifications": false, "emailUpdates": false, "theme": "system"}});
    assert_eq!(
        act(&app, Method::PATCH, "/api/v1/users/me", &bob, Some(off))
            .await
            .status(),
        200
    );
    conversation(&app, &ann, "group", &[&bob]).await;
    assert_eq!(
        of_kind(&notifications(&app, &bob).await, "conversation.added").len(),
        1,
        "no new one"
    );

    // They join the data export.
    let export = json_of(
        act(
            &app,
            Method::GET,
            "/api/v1/users/me/data-export",
            &bob,
            None,
        )
        .await,
    )
    .await;
    let exported = export["notifications"]
        .as_array()
        .unwrap_or_else(|| panic!("{export}"));
    assert!(
        exported.iter().any(|n| n["kind"] == "form.status"),
        "{exported:?}"
    );
}

async fn messages_make_one_notification_per_conversation(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob) = (person(&app, "ann").await, person(&app, "bob").await);
    let dm = conversation(&app, &ann, "direct", &[&bob]).await;
    say(&app, &ann, &dm, "first").await;
    let last = say(&app, &ann, &dm, "second").await;
    let items = notifications(&app, &bob).await;
    let messages = of_kind(&items, "message");
    assert_eq!(messages.len(), 1, "one per conversation: {items:?}");
    assert_eq!(messages[0]["data"]["count"], 2);
    assert_eq!(messages[0]["data"]["preview"], "second");
    assert_eq!(messages[0]["data"]["conversationId"], dm.as_str());
    assert!(
        of_kind(&notifications(&app, &ann).await, "message").is_empty(),
        "not for the sender"
    );
    say(&app, &ann, &dm, "third").await;
    let items = notifications(&app, &bob).await;
    let messages = of_kind(&items, "message");
    assert_eq!(
        (messages.len(), &messages[0]["data"]["count"]),
        (1, &json!(3))
    );
    assert_eq!(unread(&app, &bob).await, 1);
    // Reading the conversation reads its notification.
    let third = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{dm}/messages"),
            &bob,
            None,
        )
        .await,
    )
    .await;
    let newest = third["items"][0]["id"].clone();
    assert_ne!(newest, last["id"]);
    let read = act(
        &app,
        Method::POST,
        &format!("/api/v1/conversations/{dm}/read"),
        &bob,
        Some(json!({"messageId": newest})),
    )
    .await;
    assert!(read.status().is_success());
    assert_eq!(unread(&app, &bob).await, 0);
    let items = notifications(&app, &bob).await;
    assert!(of_kind(&items, "message")[0]["readAt"].is_string());
    // A new message makes it unread again, with the new count.
    say(&app, &ann, &dm, "fourth").await;
    let unread_only = json_of(
        act(
            &app,
            Method::GET,
            "/api/v1/notifications?unreadOnly=true",
            &bob,
            None,
        )
        .await,
    )
    .await;
    let again = unread_only["items"].as_array().unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (&again[0]["data"]["count"], &again[0]["data"]["preview"]),
        (&json!(1), &json!("fourth"))
    );
}

async fn notifications_are_read_one_by_one_or_all_and_stay_private(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob, cat) = (
        person(&app, "ann").await,
        person(&app, "bob").await,
        person(&app, "cat").await,
    );
    conversation(&app, &ann, "group", &[&bob]).await;
    conversation(&app, &cat, "group", &[&bob]).await;
    let items = notifications(&app, &bob).await;
    assert_eq!(items.len(), 2);
    // Newest first.
    assert!(items[0]["createdAt"].as_str() >= items[1]["createdAt"].as_str());
    let id = items[0]["id"].as_str().unwrap();
    // Someone else's notification does not exist for them.
    problem(
        act(
            &app,
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            &ann,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        act(
            &app,
            Method::POST,
            "/api/v1/notifications/nope/read",
            &bob,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(
        act(
            &app,
            Method::POST,
            &format!("/api/v1/notifications/{id}/read"),
            &bob,
            None
        )
        .await
        .status(),
        204
    );
    assert_eq!(unread(&app, &bob).await, 1);
    let all = json_of(
        act(
            &app,
            Method::POST,
            "/api/v1/notifications/read-all",
            &bob,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(all["marked"], 1);
    assert_eq!(unread(&app, &bob).await, 0);
    problem(
        call(&app, Method::GET, "/api/v1/notifications", None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn digests(app: &TestApp, to: &str) -> usize {
    mailbox(app, to)
        .await
        .iter()
        .filter(|m| m["kind"] == "chat-digest")
        .count()
}

async fn run_digest(app: &TestApp) -> Value {
    let timer = json!({"Data": {"timer": {"Schedule": {}, "IsPastDue": false}}, "Metadata": {}});
    let response = app.post_raw("/notify-digest", &timer.to_string()).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn the_digest_sends_one_email_and_none_once_read(kind: Kind) {
    let app = portal(kind, &[("CHAT_EMAIL_DELAY_MINUTES", "0")]).await;
    let (ann, bob, cat) = (
        person(&app, "ann").await,
        person(&app, "bob").await,
        person(&app, "cat").await,
    );
    for who in [&bob, &cat] {
        let on = json!({"preferences": {"notifications": true, "emailUpdates": true, "theme": "system"}});
        assert_eq!(
            act(&app, Method::PATCH, "/api/v1/users/me", who, Some(on))
                .await
                .status(),
            200
        );
    }
    let to_bob = conversation(&app, &ann, "direct", &[&bob]).await;
    let to_cat = conversation(&app, &ann, "direct", &[&cat]).await;
    say(&app, &ann, &to_bob, "are you there?").await;
    let for_cat = say(&app, &ann, &to_cat, "and you?").await;
    // Cat reads before the job runs.
    let read = act(
        &app,
        Method::POST,
        &format!("/api/v1/conversations/{to_cat}/read"),
        &cat,
        Some(json!({"messageId": for_cat["id"]})),
    )
    .await;
    assert!(read.status().is_success());

    let first = run_digest(&app).await;
    assert_eq!(first["ReturnValue"]["sent"], 1, "{first}");
    let second = run_digest(&app).await;
    assert_eq!(
        second["ReturnValue"]["sent"], 0,
        "a second run sends nothing: {second}"
    );
    let bob_address = address(&app, "bob");
    crate::http::eventually(
        "the digest email",
        std::time::Duration::from_secs(10),
        || async { (digests(&app, &bob_address).await == 1).then_some(()) },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(digests(&app, &bob_address).await, 1, "exactly one email");
    assert_eq!(
        digests(&app, &address(&app, "cat")).await,
        0,
        "none once read"
    );
}
