//! The course catalog, enrollment, lessons and progress through HTTP, on both backends.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal};
use crate::http::{admin, call, json_of, problem, user};

both!(
    the_sample_catalog_loads_with_one_command,
    catalog_filters_pages_and_validates,
    admins_author_courses_and_the_cache_follows,
    enrollment_counts_each_user_once,
    lessons_need_enrollment_and_completion_tracks_progress,
);

fn course(title: &str, category: &str) -> Value {
    json!({
        "title": title,
        "description": format!("All about {title}."),
        "category": category,
        "level": "beginner",
        "instructor": {"name": "Dana Kim"},
        "lessons": [
            {"id": "b", "title": "Second", "duration": 20, "order": 2, "content": "# Two"},
            {"id": "a", "title": "First", "duration": 10, "order": 1, "content": "# One",
             "resources": [{"title": "Sheet", "url": "https://example.org/s.pdf", "type": "pdf"}]},
        ],
    })
}

async fn create(app: &TestApp, admin: &str, body: Value) -> Value {
    let response = call(
        app,
        Method::POST,
        "/api/v1/courses",
        Some(admin),
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 201);
    json_of(response).await
}

async fn list(app: &TestApp, query: &str) -> Value {
    let response = call(
        app,
        Method::GET,
        &format!("/api/v1/courses{query}"),
        None,
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    json_of(response).await
}

async fn the_sample_catalog_loads_with_one_command(kind: Kind) {
    let app = portal(kind, &[]).await;
    // The command a new installation runs, against this app's backends.
    let mut command = Command::new(env!("CARGO_BIN_EXE_handler"));
    command
        .arg("seed")
        .env("DATA_DIR", app.data_dir.path())
        .env("SCRIPT_ROOT", env!("CARGO_MANIFEST_DIR"));
    if kind == Kind::Azure {
        let settings = &app.state.settings;
        let cosmos = settings.cosmos.as_ref().unwrap();
        command
            .env("COSMOS_ENDPOINT", cosmos.endpoint.as_str())
            .env("COSMOS_KEY", cosmos.key.as_ref().unwrap().expose())
            .env("COSMOS_DATABASE", &cosmos.database)
            .env("REDIS_URL", settings.redis_url.as_ref().unwrap().expose())
            .env(
                "CACHE_KEY_PREFIX",
                settings.cache_key_prefix.as_deref().unwrap_or(""),
            );
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("seeded 6 courses"));
    // The app has not served the catalog yet, so nothing stale is cached here.
    let page = list(&app, "?limit=100&category=tech").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{page}");
    assert!(titles.contains(&"Computer Essentials"));
}

async fn catalog_filters_pages_and_validates(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    for (title, category) in [
        ("Budgeting", "life-skills"),
        ("Cooking", "life-skills"),
        ("Rust", "tech"),
    ] {
        create(&app, &admin, course(title, category)).await;
    }
    let life = list(&app, "?category=life-skills").await;
    assert_eq!(life["items"].as_array().unwrap().len(), 2);
    let found = list(&app, "?search=RUST").await;
    assert_eq!(found["items"][0]["title"], "Rust");
    let summary = &found["items"][0];
    assert_eq!(summary["lessonCount"], 2);
    assert_eq!(summary["duration"], 30);
    assert_eq!(summary["enrolledCount"], 0);
    assert!(summary.get("lessons").is_none(), "lists carry no lessons");
    let first = list(&app, "?limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let second = list(&app, &format!("?limit=2&cursor={}", urlencode(cursor))).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/courses?category=cooking",
            None,
            None,
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        call(
            &app,
            Method::GET,
            "/api/v1/courses?level=expert",
            None,
            None,
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    problem(
        call(&app, Method::GET, "/api/v1/courses/nope", None, None).await,
        404,
        "NOT_FOUND",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn admins_author_courses_and_the_cache_follows(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let learner = user(&app, "learner").await;
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&learner),
            Some(course("X", "tech")),
        )
        .await,
        403,
        "FORBIDDEN",
    )
    .await;
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            None,
            Some(course("X", "tech")),
        )
        .await,
        401,
        "UNAUTHORIZED",
    )
    .await;
    let mut bad = course("", "cooking");
    bad["lessons"][1]["order"] = json!(2);
    bad["lessons"][0]["resources"] = json!([{"title": "x", "url": "ftp://x", "type": "video"}]);
    let body = problem(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&admin),
            Some(bad),
        )
        .await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
    for field in [
        "title",
        "category",
        "lessons[1].order",
        "lessons[0].resources[0].type",
        "lessons[0].resources[0].url",
    ] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }

    let created = create(&app, &admin, course("Spreadsheets", "tech")).await;
    let id = created["id"].as_str().unwrap();
    let lessons: Vec<&str> = created["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(lessons, ["a", "b"], "ordered by order");
    assert!(
        created["lessons"][0].get("content").is_none(),
        "the outline has no content"
    );

    // Cached list, then an edit: the next read shows it at once.
    assert_eq!(
        list(&app, "?category=tech").await["items"][0]["title"],
        "Spreadsheets"
    );
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/courses/{id}"),
        Some(&admin),
        Some(json!({"title": "Spreadsheets 2"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(
        list(&app, "?category=tech").await["items"][0]["title"],
        "Spreadsheets 2"
    );
    let unknown = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/courses/{id}"),
        Some(&admin),
        Some(json!({"colour": "red"})),
    )
    .await;
    problem(unknown, 400, "INVALID_BODY").await;
    let invalid = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/courses/{id}"),
        Some(&admin),
        Some(json!({"level": "guru"})),
    )
    .await;
    problem(invalid, 400, "VALIDATION_FAILED").await;

    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/api/v1/courses/{id}"),
            Some(&admin),
            None
        )
        .await
        .status(),
        204
    );
    assert!(
        list(&app, "?category=tech").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    problem(
        call(
            &app,
            Method::DELETE,
            &format!("/api/v1/courses/{id}"),
            Some(&admin),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
}

async fn enrollment_counts_each_user_once(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let id = create(&app, &admin, course("Popular", "education")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        list(&app, "?category=education").await["items"][0]["enrolledCount"],
        0,
        "cached at 0"
    );
    let ada = user(&app, "ada").await;
    let path = format!("/api/v1/courses/{id}/enroll");
    let attempts = (0..6).map(|_| call(&app, Method::POST, &path, Some(&ada), None));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        5,
        "{statuses:?}"
    );
    let bob = user(&app, "bob").await;
    assert_eq!(
        call(&app, Method::POST, &path, Some(&bob), None)
            .await
            .status(),
        201
    );
    assert_eq!(
        list(&app, "?category=education").await["items"][0]["enrolledCount"],
        2,
        "shown at once"
    );
    assert_eq!(
        json_of(
            call(
                &app,
                Method::GET,
                &format!("/api/v1/courses/{id}"),
                None,
                None
            )
            .await
        )
        .await["enrolledCount"],
        2
    );
    problem(
        call(
            &app,
            Method::POST,
            "/api/v1/courses/nope/enroll",
            Some(&bob),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;
    problem(
        call(&app, Method::POST, &path, None, None).await,
        401,
        "UNAUTHORIZED",
    )
    .await;
}

async fn lessons_need_enrollment_and_completion_tracks_progress(kind: Kind) {
    let app = portal(kind, &[]).await;
    let admin = admin(&app).await;
    let id = create(&app, &admin, course("Steps", "tech")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = user(&app, "ada").await;
    let lesson = format!("/api/v1/courses/{id}/lessons/a");
    problem(
        call(&app, Method::GET, &lesson, Some(&ada), None).await,
        403,
        "NOT_ENROLLED",
    )
    .await;
    problem(
        call(
            &app,
            Method::POST,
            &format!("{lesson}/complete"),
            Some(&ada),
            None,
        )
        .await,
        403,
        "NOT_ENROLLED",
    )
    .await;
    call(
        &app,
        Method::POST,
        &format!("/api/v1/courses/{id}/enroll"),
        Some(&ada),
        None,
    )
    .await;

    let content = json_of(call(&app, Method::GET, &lesson, Some(&ada), None).await).await;
    assert_eq!(content["content"], "# One");
    assert_eq!(content["resources"][0]["type"], "pdf");
    problem(
        call(
            &app,
            Method::GET,
            &format!("/api/v1/courses/{id}/lessons/zz"),
            Some(&ada),
            None,
        )
        .await,
        404,
        "NOT_FOUND",
    )
    .await;

    let half = json_of(
        call(
            &app,
            Method::POST,
            &format!("{lesson}/complete"),
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(half["progress"], 50);
    assert_eq!(half["courseCompleted"], false);
    let again = json_of(
        call(
            &app,
            Method::POST,
            &format!("{lesson}/complete"),
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(again["completedLessons"], json!(["a"]), "idempotent");
    let outline = json_of(
        call(
            &app,
            Method::GET,
            &format!("/api/v1/courses/{id}/lessons"),
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    let done: Vec<bool> = outline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["completed"].as_bool().unwrap())
        .collect();
    assert_eq!(done, [true, false]);
    let full = json_of(
        call(
            &app,
            Method::POST,
            &format!("/api/v1/courses/{id}/lessons/b/complete"),
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(full["progress"], 100);
    assert_eq!(full["courseCompleted"], true);

    let mine = json_of(
        call(
            &app,
            Method::GET,
            "/api/v1/users/me/progress",
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(mine["stats"]["coursesEnrolled"], 1);
    assert_eq!(mine["stats"]["coursesCompleted"], 1);
    assert_eq!(mine["stats"]["lessonsCompleted"], 2);
    assert_eq!(mine["stats"]["timeSpent"], 30);
    assert_eq!(
        mine["stats"]["loginStreak"], 0,
        "signed up, never signed in"
    );
    let achievements: Vec<&str> = mine["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(achievements, ["first-lesson", "first-course"]);
    assert_eq!(mine["courses"][0]["courseTitle"], "Steps");

    // Progress is part of the GDPR export.
    let export = json_of(
        call(
            &app,
            Method::GET,
            "/api/v1/users/me/data-export",
            Some(&ada),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(export["progress"].as_array().unwrap().len(), 1);
}
