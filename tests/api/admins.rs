//! The admin rules through HTTP on both backends: an admin does not delete, suspend or demote
//! themselves through the admin routes, and the last active admin is never removed or demoted.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Kind, portal};
use crate::http::{PASSWORD, admin_auth, call, problem, signup_token};

both!(the_last_admin_stays_and_admins_do_not_remove_themselves);

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
