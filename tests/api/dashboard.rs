//! The dashboard through HTTP, on both backends.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{PASSWORD, address, admin, call, get, json_of, problem, signup_token};

both!(
    stats_follow_the_caller_at_once,
    metrics_count_events_as_they_happen,
    activity_feeds
);

async fn course(app: &TestApp, admin: &str) -> String {
    let body = json!({
        "title": "Dash", "description": "d", "category": "tech", "level": "beginner",
        "instructor": {"name": "I"},
        "lessons": [{"id": "a", "title": "A", "duration": 5, "order": 1}],
    });
    let created: Value = call(
        app,
        Method::POST,
        "/api/v1/courses",
        Some(admin),
        Some(body),
    )
    .await
    .json()
    .await
    .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn stats_follow_the_caller_at_once(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let id = course(&app, &admin).await;
    let ada = signup_token(&app, &address(&app, "ada"), "N").await;
    let before = json_of(get(&app, "/api/v1/dashboard/stats", &ada).await).await;
    assert_eq!(before["coursesEnrolled"], 0);
    assert_eq!(before["unreadMessages"], 0);
    assert!(
        before.get("users").is_none(),
        "no platform numbers for learners"
    );
    call(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{id}/enroll"),
        Some(&ada),
        None,
    )
    .await;
    call(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{id}/lessons/a/complete"),
        Some(&ada),
        None,
    )
    .await;
    let after = json_of(get(&app, "/api/v1/dashboard/stats", &ada).await).await;
    assert_eq!(
        (
            after["coursesEnrolled"].as_u64(),
            after["coursesCompleted"].as_u64(),
            after["lessonsCompleted"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{after}"
    );

    call(
        &app,
        Method::POST,
        "/api/v1/forms/contact",
        None,
        Some(json!({"name": "C", "email": "c@example.com", "message": "m"})),
    )
    .await;
    let platform = json_of(get(&app, "/api/v1/dashboard/stats", &admin).await).await;
    assert_eq!(platform["users"]["total"], 2, "{platform}");
    assert_eq!(platform["users"]["newToday"], 2);
    assert_eq!(platform["forms"]["pending"]["contact"], 1);
    assert_eq!(platform["forms"]["pending"]["referral"], 0);
    problem(
        call(&app, Method::GET, "/api/v1/dashboard/stats", None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn metrics_count_events_as_they_happen(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let email = format!("bo.{}@example.com", app.unique);
    let bo = signup_token(&app, &email, "N").await;
    call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": PASSWORD})),
    )
    .await;
    let id = course(&app, &admin).await;
    call(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{id}/enroll"),
        Some(&bo),
        None,
    )
    .await;
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let total = |series: &Value| {
        series["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].as_i64().unwrap())
            .sum::<i64>()
    };
    let daily = json_of(
        get(
            &app,
            &format!("/api/v1/dashboard/metrics?metric=signups&from={today}&to={today}"),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(daily["points"].as_array().unwrap().len(), 1);
    assert_eq!(total(&daily), 2);
    let hourly = json_of(
        get(
            &app,
            &format!(
                "/api/v1/dashboard/metrics?metric=logins&from={today}&to={today}&interval=hour"
            ),
            &admin,
        )
        .await,
    )
    .await;
    assert_eq!(hourly["points"].as_array().unwrap().len(), 24);
    assert_eq!(total(&hourly), 1);
    let week =
        json_of(get(&app, "/api/v1/dashboard/metrics?metric=enrollments", &admin).await).await;
    assert_eq!(total(&week), 1);
    assert!(
        week["points"].as_array().unwrap().len() >= 7,
        "zeros included"
    );
    for bad in [
        "metric=money",
        "metric=logins&interval=minute",
        "metric=logins&from=soon",
        "metric=logins&from=2026-01-02&to=2026-01-01",
    ] {
        problem(
            call(
                &app,
                Method::GET,
                &format!("/api/v1/dashboard/metrics?{bad}"),
                Some(&admin),
                None,
            )
            .await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
    }
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/dashboard/metrics?metric=logins",
            Some(&bo),
            None,
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
}

async fn activity_feeds(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let cy = signup_token(&app, &address(&app, "cy"), "N").await;
    let own = json_of(get(&app, "/api/v1/dashboard/activity", &cy).await).await;
    let kinds: Vec<&str> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signup"]);
    let all = json_of(get(&app, "/api/v1/dashboard/activity", &admin).await).await;
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2,
        "the platform's, for admins"
    );
}
