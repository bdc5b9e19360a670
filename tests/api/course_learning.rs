//! The seed's course and progress fields through HTTP on both backends: duration, ratings,
//! completion rate, unenrolling, playback positions and time watched, last access and when
//! achievements were unlocked.

use reqwest::Method;
use serde_json::{Value, json};

use crate::course_media::{course_body, new_course};
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{admin, call, json_of, problem, user};

both!(
    a_course_has_its_duration_rating_and_completion_rate,
    unenrolling_counts_once_and_removes_progress,
    playback_positions_resume_and_count_only_time_watched,
);

async fn course_of(app: &TestApp, id: &str) -> Value {
    json_of(app.get(&format!("/api/v1/courses/{id}")).await).await
}

async fn act(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    call(app, method, path, Some(token), body).await
}

async fn enroll(app: &TestApp, token: &str, course: &str) {
    let response = act(
        app,
        Method::POST,
        &format!("/api/v1/courses/{course}/enroll"),
        token,
        None,
    )
    .await;
    assert!(response.status().is_success());
}

async fn rate(app: &TestApp, token: &str, course: &str, stars: u8) -> reqwest::Response {
    act(
        app,
        Method::PUT,
        &format!("/api/v1/courses/{course}/rating"),
        token,
        Some(json!({"stars": stars})),
    )
    .await
}

async fn a_course_has_its_duration_rating_and_completion_rate(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Rated").await;
    let shown = course_of(&app, &course).await;
    assert_eq!(shown["duration"], 15, "the lessons' sum without a duration");
    assert_eq!(shown["ratingCount"], 0);
    assert_eq!(shown["completionRate"], 0.0);
    let mut declared = course_body("Declared");
    declared["duration"] = json!(90);
    let created = json_of(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&root),
            Some(declared),
        )
        .await,
    )
    .await;
    assert_eq!(created["duration"], 90);

    let (ann, bob) = (user(&app, "ann").await, user(&app, "bob").await);
    problem(rate(&app, &ann, &course, 4).await, 403, "NOT_ENROLLED").await;
    enroll(&app, &ann, &course).await;
    enroll(&app, &bob, &course).await;
    problem(rate(&app, &ann, &course, 6).await, 400, "VALIDATION_FAILED").await;
    problem(rate(&app, &ann, &course, 0).await, 400, "VALIDATION_FAILED").await;
    assert_eq!(rate(&app, &ann, &course, 4).await.status(), 200);
    let rated = json_of(rate(&app, &bob, &course, 2).await).await;
    assert_eq!(
        (rated["rating"].as_f64(), rated["ratingCount"].as_i64()),
        (Some(3.0), Some(2))
    );
    // One rating each: a new one replaces the old.
    rate(&app, &bob, &course, 5).await;
    let shown = course_of(&app, &course).await;
    assert_eq!(
        (shown["rating"].as_f64(), shown["ratingCount"].as_i64()),
        (Some(4.5), Some(2))
    );

    // Ann completes every lesson: one of two enrollments is complete.
    for lesson in ["l1", "l2"] {
        let done = act(
            &app,
            Method::POST,
            &format!("/api/v1/courses/{course}/lessons/{lesson}/complete"),
            &ann,
            None,
        )
        .await;
        assert_eq!(done.status(), 200);
    }
    // Completing again does not count twice.
    act(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{course}/lessons/l2/complete"),
        &ann,
        None,
    )
    .await;
    assert_eq!(course_of(&app, &course).await["completionRate"], 0.5);

    let progress =
        json_of(act(&app, Method::GET, "/api/v1/users/me/progress", &ann, None).await).await;
    let mine = &progress["courses"][0];
    assert!(mine["lastAccessedAt"].is_string(), "{mine}");
    let first = progress["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "first-course")
        .unwrap_or_else(|| panic!("{progress}"));
    assert_eq!(first["unlockedAt"], mine["completedAt"]);
    assert!(
        progress["achievements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["unlockedAt"].is_string())
    );
}

async fn unenrolling_counts_once_and_removes_progress(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Leaving").await;
    let ann = user(&app, "ann").await;
    let bob = user(&app, "bob").await;
    enroll(&app, &ann, &course).await;
    enroll(&app, &bob, &course).await;
    rate(&app, &ann, &course, 1).await;
    rate(&app, &bob, &course, 5).await;
    for lesson in ["l1", "l2"] {
        act(
            &app,
            Method::POST,
            &format!("/api/v1/courses/{course}/lessons/{lesson}/complete"),
            &ann,
            None,
        )
        .await;
    }
    assert_eq!(course_of(&app, &course).await["enrolledCount"], 2);
    let path = format!("/api/v1/courses/{course}/enroll");
    for _ in 0..2 {
        assert_eq!(
            act(&app, Method::DELETE, &path, &ann, None).await.status(),
            204
        );
    }
    let shown = course_of(&app, &course).await;
    assert_eq!(shown["enrolledCount"], 1, "decremented once: {shown}");
    assert_eq!(shown["completionRate"], 0.0);
    assert_eq!(
        (shown["rating"].as_f64(), shown["ratingCount"].as_i64()),
        (Some(5.0), Some(1))
    );
    // Progress went with the enrollment.
    let lessons = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/courses/{course}/lessons"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    assert!(
        lessons["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["completed"] == false)
    );
    let progress =
        json_of(act(&app, Method::GET, "/api/v1/users/me/progress", &ann, None).await).await;
    assert_eq!(progress["courses"], json!([]));
    problem(
        act(
            &app,
            Method::DELETE,
            "/api/v1/courses/no-such/enroll",
            &ann,
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn playback_positions_resume_and_count_only_time_watched(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin(&app).await;
    let course = new_course(&app, &root, "Player").await;
    let ann = user(&app, "ann").await;
    let position = |lesson: &str| format!("/api/v1/courses/{course}/lessons/{lesson}/position");
    let report = |seconds: u32| json!({"positionSeconds": seconds});
    problem(
        act(&app, Method::PUT, &position("l1"), &ann, Some(report(5))).await,
        403,
        "NOT_ENROLLED",
    )
    .await;
    enroll(&app, &ann, &course).await;
    problem(
        act(
            &app,
            Method::PUT,
            &position("l1"),
            &ann,
            Some(report(90_000)),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        act(&app, Method::PUT, &position("nope"), &ann, Some(report(5))).await,
        404,
        "NOT_FOUND",
    )
    .await;

    assert_eq!(
        act(&app, Method::PUT, &position("l1"), &ann, Some(report(0)))
            .await
            .status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let after = json_of(act(&app, Method::PUT, &position("l1"), &ann, Some(report(2))).await).await;
    assert_eq!(after["playback"]["l1"]["watchedSeconds"], 2, "{after}");
    // Skipping ahead is not watching: at most the real time since the last report counts.
    let skipped =
        json_of(act(&app, Method::PUT, &position("l1"), &ann, Some(report(500))).await).await;
    let watched = skipped["playback"]["l1"]["watchedSeconds"]
        .as_u64()
        .unwrap();
    assert!((2..=4).contains(&watched), "{skipped}");
    // The outline tells the player where to resume.
    let lessons = json_of(
        act(
            &app,
            Method::GET,
            &format!("/api/v1/courses/{course}/lessons"),
            &ann,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(lessons["items"][0]["positionSeconds"], 500);
    assert_eq!(lessons["items"][1]["positionSeconds"], 0);
}
