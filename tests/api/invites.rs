//! Managing invites through HTTP on both backends: listing by status, revoking, resending,
//! and members inviting with `INVITES_BY_MEMBERS`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{address, admin_auth, call, json_of, mailed_token, problem, signup};

both!(
    admins_list_revoke_and_resend_invites,
    members_invite_plain_users_within_their_daily_limit,
);

async fn invite(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/auth/invites",
        Some(token),
        Some(body),
    )
    .await
}

async fn listed(app: &TestApp, token: &str, status: &str) -> Vec<Value> {
    let page = json_of(
        call(
            app,
            Method::GET,
            &format!("/api/v1/auth/invites?status={status}"),
            Some(token),
            None,
        )
        .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

async fn admins_list_revoke_and_resend_invites(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin_auth(&app, "Root").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (a, b) = (address(&app, "a"), address(&app, "b"));
    let first = json_of(invite(&app, &root, json!({"email": a})).await).await;
    let second = json_of(invite(&app, &root, json!({"email": b, "role": "admin"})).await).await;
    let pending = listed(&app, &root, "pending").await;
    assert_eq!(pending.len(), 2);
    let item = pending
        .iter()
        .find(|i| i["id"] == first["id"])
        .expect("the create answer's id");
    assert_eq!(
        (&item["email"], &item["role"], &item["status"]),
        (&json!(a), &json!("user"), &json!("pending"))
    );
    assert!(item["invitedBy"].is_string() && item["expiresAt"].is_string());
    assert!(item.get("token").is_none(), "no secret in a list");

    // Revoked: the link answers 410 INVITE_REVOKED, and it cannot be used to sign up.
    let revoke = format!("/api/v1/auth/invites/{}", first["id"].as_str().unwrap());
    assert_eq!(
        call(&app, Method::DELETE, &revoke, Some(&root), None)
            .await
            .status(),
        204
    );
    let link = format!("/api/v1/auth/invites/{}", first["token"].as_str().unwrap());
    problem(app.get(&link).await, 410, "INVITE_REVOKED").await;
    assert_eq!(listed(&app, &root, "revoked").await.len(), 1);
    let resend_revoked = format!("{revoke}/resend");
    problem(
        call(&app, Method::POST, &resend_revoked, Some(&root), None).await,
        410,
        "INVITE_REVOKED",
    )
    .await;

    // Sent again: a new link replaces the old one.
    let resend = format!(
        "/api/v1/auth/invites/{}/resend",
        second["id"].as_str().unwrap()
    );
    let again = call(&app, Method::POST, &resend, Some(&root), None).await;
    assert_eq!(again.status(), 201);
    let again: Value = again.json().await.unwrap();
    assert_ne!(again["id"], second["id"]);
    problem(
        app.get(&format!(
            "/api/v1/auth/invites/{}",
            second["token"].as_str().unwrap()
        ))
        .await,
        410,
        "INVITE_REVOKED",
    )
    .await;
    assert_eq!(
        app.get(&format!(
            "/api/v1/auth/invites/{}",
            again["token"].as_str().unwrap()
        ))
        .await
        .status(),
        200
    );
    // The email carries the new link.
    crate::http::eventually(
        "two invite emails",
        std::time::Duration::from_secs(30),
        || async {
            let mails = crate::http::mailbox(&app, &b).await;
            (mails.iter().filter(|m| m["kind"] == "invite").count() == 2).then_some(())
        },
    )
    .await;
    let _ = mailed_token(&app, &b, "invite").await;
    // Used: listed as used, cannot be revoked.
    let joined = call(&app, Method::POST, "/api/v1/auth/signup", None, Some(json!({"email": b, "password": crate::http::PASSWORD, "name": "B", "inviteToken": again["token"]}))).await;
    assert_eq!(joined.status(), 201);
    assert_eq!(listed(&app, &root, "used").await.len(), 1);
    let used = format!("/api/v1/auth/invites/{}", again["id"].as_str().unwrap());
    problem(
        call(&app, Method::DELETE, &used, Some(&root), None).await,
        410,
        "INVITE_USED",
    )
    .await;
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/auth/invites?status=lost",
            Some(&root),
            None,
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

async fn members_invite_plain_users_within_their_daily_limit(kind: Kind) {
    let closed = portal(kind, &[]).await;
    let member = signup(&closed, &address(&closed, "m"), "M").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    problem(
        invite(&closed, &member, json!({"email": address(&closed, "x")})).await,
        403,
        "FORBIDDEN",
    )
    .await;

    let app = portal(
        kind,
        &[("INVITES_BY_MEMBERS", "true"), ("INVITES_PER_DAY", "2")],
    )
    .await;
    let root = admin_auth(&app, "Root").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = address(&app, "m");
    let member = signup(&app, &email, "M").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Unverified members do not invite.
    problem(
        invite(&app, &member, json!({"email": address(&app, "x")})).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let token = mailed_token(&app, &email, "verification").await;
    assert_eq!(
        app.get(&format!("/api/v1/auth/verify-email?token={token}"))
            .await
            .status(),
        200
    );
    problem(
        invite(
            &app,
            &member,
            json!({"email": address(&app, "x"), "role": "admin"}),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    let mine = json_of(invite(&app, &member, json!({"email": address(&app, "y")})).await).await;
    assert_eq!(
        invite(&app, &member, json!({"email": address(&app, "z")}))
            .await
            .status(),
        201
    );
    problem(
        invite(&app, &member, json!({"email": address(&app, "w")})).await,
        429,
        "RATE_LIMITED",
    )
    .await;
    // A member sees and manages only their own invites.
    let theirs = json_of(invite(&app, &root, json!({"email": address(&app, "v")})).await).await;
    let seen = listed(&app, &member, "pending").await;
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|i| i["id"] != theirs["id"]));
    let other = format!("/api/v1/auth/invites/{}", theirs["id"].as_str().unwrap());
    problem(
        call(&app, Method::DELETE, &other, Some(&member), None).await,
        404,
        "NOT_FOUND",
    )
    .await;
    let own = format!("/api/v1/auth/invites/{}", mine["id"].as_str().unwrap());
    assert_eq!(
        call(&app, Method::DELETE, &own, Some(&member), None)
            .await
            .status(),
        204
    );
    assert_eq!(
        listed(&app, &root, "pending").await.len(),
        2,
        "an admin sees everyone's"
    );
}
