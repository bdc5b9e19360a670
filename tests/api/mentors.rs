//! The mentor role through HTTP on both backends: mentors create courses, change and delete
//! the ones they created, and follow those courses' learners; nobody else's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::course_media::course_body;
use crate::helpers::{Kind, TestApp, portal};
use crate::http::{address, admin_auth, call, json_of, problem, signup};

both!(mentors_write_and_follow_their_own_courses);

/// Signs up `who` and makes them a mentor; returns (token, id).
async fn mentor(app: &TestApp, root: &str, who: &str) -> (String, String) {
    let auth = signup(app, &address(app, who), who).await;
    let id = auth["user"]["id"].as_str().unwrap().to_owned();
    let made = call(
        app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(root),
        Some(json!({"role": "mentor"})),
    )
    .await;
    assert_eq!(made.status(), 200);
    assert_eq!(json_of(made).await["role"], "mentor");
    (auth["accessToken"].as_str().unwrap().to_owned(), id)
}

async fn mentors_write_and_follow_their_own_courses(kind: Kind) {
    let app = portal(kind, &[]).await;
    let root = admin_auth(&app, "Root").await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mia, _) = mentor(&app, &root, "mia").await;
    let (max, _) = mentor(&app, &root, "max").await;
    let learner = signup(&app, &address(&app, "lou"), "Lou").await;
    let lou = learner["accessToken"].as_str().unwrap().to_owned();

    let created = call(
        &app,
        Method::POST,
        "/api/v1/courses",
        Some(&mia),
        Some(course_body("Mia's")),
    )
    .await;
    assert_eq!(created.status(), 201);
    let course: Value = created.json().await.unwrap();
    let id = course["id"].as_str().unwrap();
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&lou),
            Some(course_body("No")),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;

    let path = format!("/api/v1/courses/{id}");
    let rename = json!({"title": "Mia's course"});
    problem(
        call(&app, Method::PATCH, &path, Some(&max), Some(rename.clone())).await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        call(&app, Method::PATCH, &path, Some(&mia), Some(rename.clone()))
            .await
            .status(),
        200
    );
    assert_eq!(
        call(&app, Method::PATCH, &path, Some(&root), Some(rename))
            .await
            .status(),
        200,
        "admins too"
    );

    // She reads its lessons to edit them without enrolling; another mentor and a learner who
    // has not enrolled do not.
    let lesson = format!("{path}/lessons/l1");
    assert_eq!(
        call(&app, Method::GET, &lesson, Some(&mia), None)
            .await
            .status(),
        200
    );
    for outsider in [&max, &lou] {
        problem(
            call(&app, Method::GET, &lesson, Some(outsider), None).await,
            403,
            "NOT_ENROLLED",
        )
        .await;
    }

    // The learners of her course, for her (and admins) only.
    let enrolled = call(
        &app,
        Method::POST,
        &format!("{path}/enroll"),
        Some(&lou),
        None,
    )
    .await;
    assert_eq!(enrolled.status(), 201);
    call(
        &app,
        Method::POST,
        &format!("{path}/lessons/l1/complete"),
        Some(&lou),
        None,
    )
    .await;
    let learners = json_of(
        call(
            &app,
            Method::GET,
            &format!("{path}/learners"),
            Some(&mia),
            None,
        )
        .await,
    )
    .await;
    let first = &learners["items"][0];
    assert_eq!(first["profile"]["name"], "Lou");
    assert!(first["profile"].get("email").is_none());
    assert_eq!(first["progress"], 50);
    assert_eq!(first["completedLessons"], json!(["l1"]));
    for other in [&max, &lou] {
        problem(
            call(
                &app,
                Method::GET,
                &format!("{path}/learners"),
                Some(other),
                None,
            )
            .await,
            403,
            "FORBIDDEN",
        )
        .await;
    }
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("{path}/learners"),
            Some(&root),
            None
        )
        .await
        .status(),
        200
    );

    // Her course's assets are hers to upload; another mentor's are not.
    let asset = json!({"fileName": "t.png", "fileType": "image/png", "fileSize": 10, "category": "course", "courseId": id});
    let mine = call(
        &app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(&mia),
        Some(asset.clone()),
    )
    .await;
    assert_eq!(mine.status(), 201);
    let theirs = call(
        &app,
        Method::POST,
        "/api/v1/files/upload-url",
        Some(&max),
        Some(asset),
    )
    .await;
    problem(theirs, 403, "FORBIDDEN").await;

    problem(
        call(&app, Method::DELETE, &path, Some(&max), None).await,
        403,
        "FORBIDDEN",
    )
    .await;
    assert_eq!(
        call(&app, Method::DELETE, &path, Some(&mia), None)
            .await
            .status(),
        204
    );
}
