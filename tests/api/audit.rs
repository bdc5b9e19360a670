//! The audit trail of sensitive actions through HTTP, on both backends: what is recorded,
//! the admin-only list (newest first, filters, cursor paging across day partitions), and the
//! 400s for bad ranges and cursors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestApp, portal as app};
use crate::http::{address, admin_auth, call, get, json_of, post, problem, signup};

both!(
    sensitive_actions_are_audited,
    the_audit_trail_pages_across_days
);

fn access(auth: &Value) -> String {
    auth["accessToken"].as_str().unwrap().to_owned()
}

async fn audit_page(app: &TestApp, token: &str, query: &str) -> Value {
    json_of(get(app, &format!("/api/v1/admin/audit?{query}"), token).await).await
}

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn sensitive_actions_are_audited(kind: Kind) {
    let app = app(kind, &[]).await;
    let admin = admin_auth(&app, "Root").await;
    let admin_id = admin["user"]["id"].as_str().unwrap().to_owned();
    let token = access(&admin);
    let grace = signup(&app, &address(&app, "grace"), "Grace").await;
    let grace_id = grace["user"]["id"].as_str().unwrap().to_owned();

    let invited = post(
        &app,
        "/api/v1/auth/invites",
        Some(&token),
        json!({"email": address(&app, "guest")}),
    )
    .await;
    assert_eq!(invited.status(), 201);
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{grace_id}"),
        Some(&token),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let course = json!({
        "title": "Audit", "description": "d", "category": "tech", "level": "beginner",
        "instructor": {"name": "I"},
        "lessons": [{"id": "a", "title": "A", "duration": 5, "order": 1}],
    });
    let created = json_of(
        call(
            &app,
            Method::POST,
            "/api/v1/courses",
            Some(&token),
            Some(course),
        )
        .await,
    )
    .await;
    let course_id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/courses/{course_id}");
    let updated = call(
        &app,
        Method::PATCH,
        &path,
        Some(&token),
        Some(json!({"title": "B"})),
    )
    .await;
    assert_eq!(updated.status(), 200);
    assert_eq!(
        call(&app, Method::DELETE, &path, Some(&token), None)
            .await
            .status(),
        204
    );
    let deleted = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{grace_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 202);

    let page = audit_page(&app, &token, "").await;
    assert_eq!(
        actions(&page),
        [
            "user.delete",
            "course.delete",
            "course.update",
            "course.create",
            "user.update",
            "invite.create"
        ],
        "newest first"
    );
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == admin_id.as_str())
    );
    assert_eq!(page["items"][0]["target"], grace_id.as_str());
    assert_eq!(page["items"][4]["details"]["role"], "admin");
    assert!(page["nextCursor"].is_null());
    assert!(
        !page.to_string().contains(
            invited.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
        )
    );

    let only = audit_page(&app, &token, "action=user.update").await;
    assert_eq!(actions(&only), ["user.update"]);
    let nobody = audit_page(&app, &token, "actor=someone-else").await;
    assert_eq!(actions(&nobody), Vec::<String>::new());

    // Two at a time: the cursor walks the same entries, in the same order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let query = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let page = audit_page(&app, &token, &query).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        walked.extend(actions(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, actions(&page));

    // Bad input is a 400; a non-admin is refused.
    problem(
        get(&app, "/api/v1/admin/audit?cursor=not-a-cursor", &token).await,
        400,
        "INVALID_REQUEST",
    )
    .await;
    for bad in [
        "from=2026-02-01&to=2026-01-01",
        "from=soon",
        "from=2020-01-01&to=2026-01-01",
    ] {
        problem(
            get(&app, &format!("/api/v1/admin/audit?{bad}"), &token).await,
            400,
            "VALIDATION_FAILED",
        )
        .await;
    }
    let user = access(&signup(&app, &address(&app, "nosy"), "Nosy").await);
    problem(
        get(&app, "/api/v1/admin/audit", &user).await,
        403,
        "FORBIDDEN",
    )
    .await;
    let anonymous = call(&app, Method::GET, "/api/v1/admin/audit", None, None).await;
    assert_eq!(anonymous.status(), 401);
}

async fn the_audit_trail_pages_across_days(kind: Kind) {
    let app = app(kind, &[]).await;
    let token = access(&admin_auth(&app, "Root").await);
    // Entries on days far apart, as an older deployment would have left them.
    let docs = app.stores().documents.clone();
    let now = chrono::Utc::now();
    let mut expected = Vec::new();
    for days_ago in [1i64, 3, 40, 75] {
        let at = now - chrono::Duration::days(days_ago);
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            at.timestamp() as u64,
            0,
        ))
        .to_string();
        let day = at.format("%Y-%m-%d").to_string();
        let entry = json!({"id": id, "day": day, "at": at, "actor": "system", "action": "keys.rotate",
            "target": format!("k{days_ago}"), "details": null, "ttl": 3600});
        docs.create("audit", &day, entry).await.unwrap();
        expected.push(format!("k{days_ago}"));
    }
    // Forms' review trail shares the container and stays out of this list.
    let day = now.format("%Y-%m-%d").to_string();
    let review = json!({"id": uuid::Uuid::now_v7().to_string(), "day": day, "formId": "f", "actor": "a",
        "at": now, "changes": {}, "ttl": 3600});
    docs.create("audit", &day, review).await.unwrap();

    let from = (now - chrono::Duration::days(90)).format("%Y-%m-%d");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 20, "the walk ends");
        let mut query = format!("from={from}&limit=100");
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={c}"));
        }
        let page = audit_page(&app, &token, &query).await;
        for entry in page["items"].as_array().unwrap() {
            seen.push(entry["target"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected, "newest first across days, each once");
    // 91 days at no more than 31 partition queries a page take more than one page.
    assert!(pages >= 3, "{pages} pages");
}
