//! People through HTTP on both backends: public profiles, the directory, blocking, presence
//! and the names conversation answers carry.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::chat::{Person, conversation, person, say, send};
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{address, call, json_of, problem};
use crate::realtime::{event, invoke};

both!(
    profiles_are_public_fields_only_and_follow_visibility,
    the_directory_finds_names_and_exact_emails_only,
    blocks_stop_direct_messages_not_groups,
    conversation_answers_name_their_people,
    presence_is_for_people_who_share_a_conversation,
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

async fn hide(app: &TestApp, who: &Person) {
    let prefs = json!({"preferences": {"notifications": true, "emailUpdates": false, "theme": "system", "discoverable": false}});
    assert_eq!(
        act(app, Method::PATCH, "/api/v1/users/me", who, Some(prefs))
            .await
            .status(),
        200
    );
}

async fn rename(app: &TestApp, who: &Person, name: &str) {
    let body = json!({"name": name});
    assert_eq!(
        act(app, Method::PATCH, "/api/v1/users/me", who, Some(body))
            .await
            .status(),
        200
    );
}

async fn profiles_are_public_fields_only_and_follow_visibility(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob, cat) = (
        person(&app, "ann").await,
        person(&app, "bob").await,
        person(&app, "cat").await,
    );
    let bio = json!({"bio": "Teaches welding."});
    let me = json_of(act(&app, Method::PATCH, "/api/v1/users/me", &ann, Some(bio)).await).await;
    assert_eq!(me["bio"], "Teaches welding.");
    assert!(me.get("avatarUrl").is_some(), "{me}");
    let long = json!({"bio": "x".repeat(501)});
    problem(
        act(&app, Method::PATCH, "/api/v1/users/me", &ann, Some(long)).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;

    let shown = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/people/{}", ann.id),
            &bob,
            None,
        )
        .await,
    )
    .await;
    let mut keys: Vec<&str> = shown
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["avatarUrl", "bio", "id", "lastSeenAt", "name", "online"],
        "{shown}"
    );
    assert_eq!(shown["bio"], "Teaches welding.");

    // Not discoverable: seen only by those who share a conversation with them.
    hide(&app, &cat).await;
    let path = format!("/api/v1/people/{}", cat.id);
    problem(
        act(&app, Method::GET, &path, &bob, None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    conversation(&app, &cat, "direct", &[&bob]).await;
    assert_eq!(
        act(&app, Method::GET, &path, &bob, None).await.status(),
        200
    );
    problem(
        act(&app, Method::GET, &path, &ann, None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        act(&app, Method::GET, "/api/v1/people/nobody", &ann, None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        call(&app, Method::GET, &path, None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn search(app: &TestApp, who: &Person, query: &str) -> Value {
    let response = act(
        app,
        Method::GET,
        &format!("/api/v1/people?search={query}"),
        who,
        None,
    )
    .await;
    assert_eq!(response.status(), 200, "search {query}");
    response.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_directory_finds_names_and_exact_emails_only(kind: Kind) {
    let app = portal(kind, &[]).await;
    let bob = person(&app, "bob").await;
    let joanna = person(&app, "jo").await;
    rename(&app, &joanna, "Joanna Ray").await;
    let annabel = person(&app, "an").await;
    rename(&app, &annabel, "Annabel Lee").await;
    let hidden = person(&app, "hid").await;
    rename(&app, &hidden, "Hannah Hidden").await;
    hide(&app, &hidden).await;

    let found = search(&app, &bob, "ANN").await;
    assert_eq!(
        names(&found),
        ["Annabel Lee", "Joanna Ray"],
        "starts-with first: {found}"
    );
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("email").is_none())
    );
    problem(
        act(&app, Method::GET, "/api/v1/people?search=a", &bob, None).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    // An exact email finds its person without showing the address; a part of one finds nobody.
    let exact = search(&app, &bob, &address(&app, "jo")).await;
    assert_eq!(names(&exact), ["Joanna Ray"]);
    assert!(!exact.to_string().contains("@example.com"), "{exact}");
    assert_eq!(
        names(&search(&app, &bob, "example.com").await),
        Vec::<String>::new()
    );
    // The hidden user is found neither by name nor by email.
    assert!(names(&search(&app, &bob, "hannah").await).is_empty());
    assert!(names(&search(&app, &bob, &address(&app, "hid")).await).is_empty());
    // Pages.
    let first = json_of(
        act(
            &app,
            Method::GET,
            "/api/v1/people?search=ann&limit=1",
            &bob,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let cursor = percent_encoding::utf8_percent_encode(cursor, percent_encoding::NON_ALPHANUMERIC);
    let second = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/people?search=ann&limit=1&cursor={cursor}"),
            &bob,
            None,
        )
        .await,
    )
    .await;
    let mut both = names(&first);
    both.extend(names(&second));
    both.sort();
    assert_eq!(both, ["Annabel Lee", "Joanna Ray"]);
    // Who blocked you is not found.
    let path = format!("/api/v1/people/{}/block", bob.id);
    assert_eq!(
        act(&app, Method::POST, &path, &annabel, None)
            .await
            .status(),
        204
    );
    assert_eq!(names(&search(&app, &bob, "ann").await), ["Joanna Ray"]);
}

async fn blocks_stop_direct_messages_not_groups(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob, cat) = (
        person(&app, "ann").await,
        person(&app, "bob").await,
        person(&app, "cat").await,
    );
    let dm = conversation(&app, &ann, "direct", &[&bob]).await;
    let group = conversation(&app, &ann, "group", &[&bob, &cat]).await;
    say(&app, &bob, &dm, "hi").await;
    let block = format!("/api/v1/people/{}/block", bob.id);
    assert_eq!(
        act(&app, Method::POST, &block, &ann, None).await.status(),
        204
    );
    assert_eq!(
        act(&app, Method::POST, &block, &ann, None).await.status(),
        204,
        "again"
    );

    let refused = send(
        &app,
        &bob,
        &dm,
        json!({"clientMessageId": "b1", "text": "hello?"}),
    )
    .await;
    problem(refused, 403, "BLOCKED").await;
    let again = act(
        &app,
        Method::POST,
        "/api/v1/conversations",
        &bob,
        Some(json!({"type": "direct", "participantIds": [ann.id]})),
    )
    .await;
    problem(again, 403, "BLOCKED").await;
    // Groups are unaffected; the blocker still writes.
    say(&app, &bob, &group, "in the group").await;
    say(&app, &ann, &dm, "my side").await;

    let listed = json_of(act(&app, Method::GET, "/api/v1/users/me/blocks", &ann, None).await).await;
    assert_eq!(listed["items"][0]["userId"], bob.id.as_str());
    assert_eq!(listed["items"][0]["name"], "bob");
    assert!(listed["items"][0]["blockedAt"].is_string());
    problem(
        act(
            &app,
            Method::POST,
            &format!("/api/v1/people/{}/block", ann.id),
            &ann,
            None,
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        act(
            &app,
            Method::POST,
            "/api/v1/people/nobody/block",
            &ann,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;

    assert_eq!(
        act(&app, Method::DELETE, &block, &ann, None).await.status(),
        204
    );
    say(&app, &bob, &dm, "thanks").await;
}

async fn conversation_answers_name_their_people(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob) = (person(&app, "ann").await, person(&app, "bob").await);
    let mut crowd = Vec::new();
    for n in 0..11 {
        crowd.push(person(&app, &format!("m{n}")).await);
    }
    let dm = conversation(&app, &ann, "direct", &[&bob]).await;
    let with: Vec<&Person> = crowd.iter().chain([&bob]).collect();
    let group = conversation(&app, &ann, "group", &with).await;

    let listed = json_of(act(&app, Method::GET, "/api/v1/conversations", &ann, None).await).await;
    let entry = |id: &str| {
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let big = entry(&group);
    assert_eq!(big["participantCount"], 13);
    assert_eq!(
        big["participants"].as_array().unwrap().len(),
        10,
        "lists name at most 10"
    );
    let first = &big["participants"][0];
    assert!(
        first["name"].is_string() && first["role"].is_string() && first["online"] == false,
        "{first}"
    );
    let direct = entry(&dm);
    assert_eq!(direct["peer"]["id"], bob.id.as_str());
    assert_eq!(direct["peer"]["name"], "bob");
    assert!(direct["peer"].get("email").is_none());

    // A rename shows at once.
    rename(&app, &bob, "Robert").await;
    let single = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{dm}"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(single["peer"]["name"], "Robert");
    let full = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{group}"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(full["participants"].as_array().unwrap().len(), 13);
    // "Seen by": each member's last read message.
    let said = say(&app, &ann, &dm, "read me").await;
    let read = act(
        &app,
        Method::POST,
        &format!("/api/v1/conversations/{dm}/read"),
        &bob,
        Some(json!({"messageId": said["id"]})),
    )
    .await;
    assert!(read.status().is_success());
    let seen = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{dm}"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    let bobs = seen["readStates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == bob.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(bobs["lastReadMessageId"], said["id"]);
    assert!(bobs["readAt"].is_string());

    // Avatars through their stable URL.
    let avatar = crate::files::png(64, 64);
    let ticket = crate::files::new_ticket(
        &app,
        &bob.token,
        "avatar",
        "me.png",
        "image/png",
        avatar.len(),
    )
    .await;
    assert_eq!(
        crate::files::put(&app, &ticket, avatar.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        crate::files::complete(&app, &bob.token, ticket["fileId"].as_str().unwrap())
            .await
            .status(),
        200
    );
    let single = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{dm}"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    let url = single["peer"]["avatarUrl"]
        .as_str()
        .expect("an avatar URL")
        .to_owned();
    let url = if url.starts_with("http") {
        url
    } else {
        app.url(&url)
    };
    let no_follow = &app.client;
    let redirect = no_follow
        .get(&url)
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::FOUND);
    assert_eq!(
        redirect.headers()[header::CACHE_CONTROL],
        "private, max-age=300"
    );
    let picture = app
        .client
        .get(redirect.headers()[header::LOCATION].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(picture.bytes().await.unwrap().as_ref(), avatar.as_slice());
    let thumb = no_follow
        .get(format!("{url}?size=thumb"))
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), StatusCode::FOUND);
    problem(
        no_follow
            .get(format!("{url}?size=huge"))
            .bearer_auth(&ann.token)
            .send()
            .await
            .unwrap(),
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/people/{}/avatar", ann.id),
            &bob,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        no_follow.get(&url).send().await.unwrap(),
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn presence_is_for_people_who_share_a_conversation(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (ann, bob, cat) = (
        person(&app, "ann").await,
        person(&app, "bob").await,
        person(&app, "cat").await,
    );
    conversation(&app, &ann, "direct", &[&bob]).await;
    conversation(&app, &ann, "group", &[&bob]).await;
    let ids = format!("{},{},nobody", bob.id, cat.id);
    let path = format!("/api/v1/presence?userIds={ids}");
    let before = json_of(act(&app, Method::GET, &path, &ann, None).await).await;
    assert_eq!(
        before["items"],
        json!([{"userId": bob.id, "online": false, "lastSeenAt": null}]),
        "strangers left out"
    );

    let connected = invoke(
        &app,
        "chat-connected",
        event(&bob.id, "c1", "connected", json!({})),
    )
    .await;
    // One event to ann, though they share two conversations.
    let sent = connected["Outputs"]["actions"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{connected}");
    assert_eq!(sent[0]["group"], format!("user:{}", ann.id).as_str());
    let online = json_of(act(&app, Method::GET, &path, &ann, None).await).await;
    assert_eq!(online["items"][0]["online"], true);
    let shown = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/people/{}", bob.id),
            &ann,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(shown["online"], true);
    // A stranger sees the profile, not the presence.
    let stranger = act(
        &app,
        Method::GET,
        &format!("/api/v1/people/{}", bob.id),
        &cat,
        None,
    )
    .await;
    let stranger = json_of(stranger).await;
    assert_eq!(stranger["online"], false);
    assert_eq!(stranger["lastSeenAt"], Value::Null);

    invoke(
        &app,
        "chat-disconnected",
        event(&bob.id, "c1", "disconnected", json!({})),
    )
    .await;
    let after = json_of(act(&app, Method::GET, &path, &ann, None).await).await;
    assert_eq!(after["items"][0]["online"], false);
    assert!(after["items"][0]["lastSeenAt"].is_string(), "{after}");

    problem(
        act(&app, Method::GET, "/api/v1/presence?userIds=", &ann, None).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    let many: Vec<String> = (0..101).map(|n| format!("u{n}")).collect();
    let too_many = format!("/api/v1/presence?userIds={}", many.join(","));
    problem(
        act(&app, Method::GET, &too_many, &ann, None).await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}
