//! Realtime rights live on the server (DESIGN.md section 5): the connect trigger decides the
//! groups, membership changes and ended sessions reach the service (checked by the REST
//! stand-in of `realtime.rs`) and the local hub (driven by the official client).

use reqwest::Method;
use serde_json::{Value, json};

use crate::chat::{conversation, person};
use crate::helpers::{Kind, Options, TestApp, portal, spawn_app_with};
use crate::http::{admin, call};
use crate::realtime::{
    ACCESS_KEY, Seen, claims_of, event, fake_service, invoke, negotiate, sid_of,
};

both!(connect_refuses_ended_sessions);

async fn connect(app: &TestApp, user_id: &str, claims: Value) -> Value {
    invoke(
        app,
        "chat-connect",
        event(
            user_id,
            "c1",
            "connect",
            json!({"Claims": claims, "Query": {}}),
        ),
    )
    .await["ReturnValue"]
        .clone()
}

/// A negotiated URL does not outlive its session: after logout, connect refuses its token
/// (which has not expired), and a token without a session is not one of negotiate's.
async fn connect_refuses_ended_sessions(kind: Kind) {
    let app = portal(kind, &[]).await;
    let (a, b) = (person(&app, "a").await, person(&app, "b").await);
    let id = conversation(&app, &a, "direct", &[&b]).await;
    let claims = json!({"sub": [b.id], "sid": [sid_of(&b.token)]});
    let admitted = connect(&app, &b.id, claims.clone()).await;
    assert_eq!(
        admitted["groups"],
        json!([format!("conv:{id}"), format!("user:{}", b.id)])
    );
    assert!(admitted.get("roles").is_none(), "{admitted}");

    let logout = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(logout.status(), 204);
    let refused = connect(&app, &b.id, claims).await;
    assert_eq!(refused["code"], "unauthorized", "{refused}");
    let sessionless = connect(&app, &a.id, json!({"sub": [a.id]})).await;
    assert_eq!(sessionless["code"], "unauthorized", "{sessionless}");
}

fn calls(seen: &[Seen], method: &str, path: &str) -> usize {
    let url = format!("{path}?api-version=2024-12-01");
    seen.iter()
        .filter(|s| s.method == method && s.path_and_query.starts_with(&url))
        .count()
}

#[tokio::test]
async fn membership_and_ended_sessions_reach_the_service() {
    let service = fake_service().await;
    let connection = format!(
        "Endpoint=http://127.0.0.1;Port={};AccessKey={ACCESS_KEY};Version=1.0;",
        service.port
    );
    let app = spawn_app_with(
        Kind::Embedded,
        Options {
            settings: vec![("WEBPUBSUB_CONNECTION_STRING".into(), connection)],
            ..Default::default()
        },
    )
    .await;
    let (a, b, c) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
    );
    let id = conversation(&app, &a, "group", &[&b]).await;
    let participants = format!("/api/v1/conversations/{id}/participants");
    let added = call(
        &app,
        Method::POST,
        &participants,
        Some(&a.token),
        Some(json!({"userId": c.id})),
    )
    .await;
    assert_eq!(added.status(), 200);
    let removed = call(
        &app,
        Method::DELETE,
        &format!("{participants}/{}", c.id),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(removed.status(), 204);
    let logout = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&b.token),
        None,
    )
    .await;
    assert_eq!(logout.status(), 204);

    let seen = service.seen.lock().unwrap().clone();
    let rejected = service.rejected.lock().unwrap().clone();
    assert!(
        rejected.is_empty(),
        "tokens the service refuses: {rejected:?}"
    );
    let group = format!("/api/hubs/chat/users/{}/groups/conv:{id}", c.id);
    assert_eq!(calls(&seen, "PUT", &group), 1, "{seen:?}");
    assert_eq!(calls(&seen, "DELETE", &group), 1, "{seen:?}");
    let close = format!("/api/hubs/chat/users/{}/:closeConnections", b.id);
    assert_eq!(calls(&seen, "POST", &close), 1, "{seen:?}");
    assert_eq!(
        calls(
            &seen,
            "POST",
            &format!("/api/hubs/chat/users/{}/:closeConnections", a.id)
        ),
        0
    );

    // The client token the service would check carries no rights.
    let answer = negotiate(&app, &a).await;
    let claims = claims_of(answer["accessToken"].as_str().unwrap());
    assert!(claims.get("role").is_none(), "{claims}");
    assert!(claims.get("webpubsub.group").is_none(), "{claims}");

    // The service refusing: a removal is not reported done (nothing changes, try again),
    // while a logout still succeeds.
    service
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let admin_token = a.token.clone();
    let refused = call(
        &app,
        Method::DELETE,
        &format!("{participants}/{}", b.id),
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(refused.status(), 503);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "REALTIME_UNAVAILABLE");
    let still: Value = call(
        &app,
        Method::GET,
        &format!("/api/v1/conversations/{id}"),
        Some(&a.token),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        still.to_string().contains(&b.id),
        "b must still be a participant: {still}"
    );
    let logout = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(logout.status(), 204);
}

#[tokio::test]
async fn the_official_client_has_no_rights_and_loses_what_it_lost() {
    let app = portal(Kind::Embedded, &[]).await;
    let root = admin(&app).await;
    let (a, b, c, d) = (
        person(&app, "a").await,
        person(&app, "b").await,
        person(&app, "c").await,
        person(&app, "d").await,
    );
    let id = conversation(&app, &a, "group", &[&b, &c, &d]).await;
    let args = [
        app.address.clone(),
        a.token.clone(),
        b.token.clone(),
        c.token.clone(),
        d.token.clone(),
        root,
        id.clone(),
        a.id.clone(),
        b.id.clone(),
        d.id.clone(),
    ];
    let printed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::emulators::node_script("realtime-rights.mjs", &args)
    })
    .await
    .unwrap();
    let summary: Value = serde_json::from_str(printed.trim()).unwrap();
    // No join, no send: the service's answer without the role.
    assert_eq!(summary["joinRefused"], "Forbidden", "{summary}");
    assert_eq!(summary["sendRefused"], "Forbidden", "{summary}");
    assert_eq!(summary["groupMessages"], json!([]), "{summary}");
    // Removed at once: B heard of it in its own group and got nothing after.
    assert_eq!(summary["removedStatus"], 204);
    assert_eq!(summary["toldOfRemoval"]["data"]["userId"], b.id.as_str());
    assert_eq!(summary["b"], json!(["first"]), "{summary}");
    // Logged out and suspended: the connections are closed and stay closed.
    assert_eq!(summary["logoutStatus"], 204);
    assert_eq!(summary["suspendStatus"], 200);
    assert_eq!(summary["c"], json!(["first", "second"]), "{summary}");
    assert_eq!(summary["d"], json!(["first", "second"]), "{summary}");
}
