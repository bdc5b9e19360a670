//! Admin account management through HTTP on both backends: accounts made for someone, name and
//! address changes, and the rules that an admin does not delete, suspend or demote themselves
//! through the admin routes and the last active admin is never removed or demoted.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Kind, portal};
use crate::http::{PASSWORD, admin_auth, call, problem, signup_token};

both!(
    the_last_admin_stays_and_admins_do_not_remove_themselves,
    admins_make_accounts_that_start_when_their_owner_sets_a_password,
);

async fn the_last_admin_stays_and_admins_do_not_remove_themselves(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin_auth(&app, "Root").await;
    let root_id = root["user"]["id"].as_str().unwrap().to_owned();
    let root = root["accessToken"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{root_id}");
    for body in [json!({"role": "user"}), json!({"status": "suspended"})] {
        let own = call(&app, Method::PATCH, &path, Some(&root), Some(body)).await;
        problem(own, 409, "SELF_CHANGE").await;
    }
    problem(
        call(&app, Method::DELETE, &path, Some(&root), None).await,
        409,
        "SELF_CHANGE",
    )
    .await;
    // The only admin cannot erase their own account either.
    let erase = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&root),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    problem(erase, 409, "LAST_ADMIN").await;

    // With a second admin, one may demote the other, but not the last one left.
    let ada = signup_token(&app, &crate::http::address(&app, "ada"), "Ada").await;
    let me: serde_json::Value = call(&app, Method::GET, "/api/v1/users/me", Some(&ada), None)
        .await
        .json()
        .await
        .unwrap();
    let ada_path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    let promoted = call(
        &app,
        Method::PATCH,
        &ada_path,
        Some(&root),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(promoted.status(), 200);
    let demoted = call(
        &app,
        Method::PATCH,
        &path,
        Some(&ada),
        Some(json!({"role": "user"})),
    )
    .await;
    assert_eq!(
        demoted.status(),
        200,
        "two admins: one may demote the other"
    );
    // Ada is now the last active admin: the demoted root cannot act as admin, and nobody can
    // remove her.
    problem(
        call(
            &app,
            Method::PATCH,
            &ada_path,
            Some(&root),
            Some(json!({"role": "user"})),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    let last = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&ada),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    problem(last, 409, "LAST_ADMIN").await;
    // A plain user's erase is unaffected.
    let erase = call(
        &app,
        Method::DELETE,
        "/api/v1/users/me",
        Some(&root),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(erase.status(), 202);
}

async fn admins_make_accounts_that_start_when_their_owner_sets_a_password(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin_auth(&app, "Root").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = crate::http::address(&app, "made");
    let body = json!({"email": email, "name": "Made For", "role": "user"});
    let created = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(body.clone()),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(
        (
            created["status"].as_str(),
            created["emailVerified"].as_bool()
        ),
        (Some("invited"), Some(false))
    );
    problem(
        call(&app, Method::POST, "/api/v1/users", Some(&root), Some(body)).await,
        409,
        "EMAIL_TAKEN",
    )
    .await;
    let member = signup_token(&app, &crate::http::address(&app, "plain"), "Plain").await;
    let refused = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&member),
        Some(json!({"email": crate::http::address(&app, "z"), "name": "Z"})),
    )
    .await;
    problem(refused, 403, "FORBIDDEN").await;
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/users",
            Some(&root),
            Some(json!({"email": "bad", "name": ""})),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    // Not signed in until the owner sets a password through the emailed link.
    let login = |password: &'static str| {
        call(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
    };
    problem(login(PASSWORD).await, 401, "INVALID_CREDENTIALS").await;
    let token = crate::http::mailed_token(&app, &email, "account-created").await;
    let set = call(
        &app,
        Method::POST,
        "/api/v1/auth/reset-password",
        None,
        Some(json!({"token": token, "password": PASSWORD})),
    )
    .await;
    assert_eq!(set.status(), 204);
    let signed: serde_json::Value = login(PASSWORD).await.json().await.unwrap();
    assert_eq!(
        (
            signed["user"]["status"].as_str(),
            signed["user"]["emailVerified"].as_bool()
        ),
        (Some("active"), Some(true))
    );

    // Admins also change a name and an address (the new one unverified, with a link sent).
    let id = created["id"].as_str().unwrap();
    let moved = crate::http::address(&app, "moved");
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        Some(json!({"name": "Renamed", "email": moved})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let patched: serde_json::Value = patched.json().await.unwrap();
    assert_eq!(
        (
            patched["name"].as_str(),
            patched["email"].as_str(),
            patched["emailVerified"].as_bool()
        ),
        (Some("Renamed"), Some(moved.as_str()), Some(false))
    );
    crate::http::mailed_token(&app, &moved, "verification").await;
    problem(login(PASSWORD).await, 401, "INVALID_CREDENTIALS").await;
    let bad = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        Some(json!({"name": ""})),
    )
    .await;
    problem(bad, 400, "VALIDATION_FAILED").await;
}
