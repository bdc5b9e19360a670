//! The OpenAPI document describes what the handler answers: every error response as
//! problem+json, the statuses the middleware can answer on every operation, operation ids a
//! client generator can use as method names, and the query rules the handlers enforce. The
//! full check against the running handler is schemathesis (tests/openapi/run); these cases pin
//! the rules it relies on, and the handler's side: a rejected query is problem+json too.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{Kind, TestApp, portal, spawn_app};
use crate::http::{admin, get, problem, user};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// (method, path, operation) for every operation of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                all.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(all.len() > 50, "the document lists the API: {}", all.len());
    all
}

async fn document(app: &TestApp) -> Value {
    app.get("/api/openapi.json").await.json().await.unwrap()
}

#[tokio::test]
async fn every_operation_has_a_unique_method_like_operation_id_and_a_tag() {
    let doc = document(&spawn_app(Kind::Embedded).await).await;
    let mut seen = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            !id.is_empty()
                && id.chars().next().unwrap().is_ascii_lowercase()
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {path}: operationId {id:?} is not camelCase"
        );
        assert!(seen.insert(id.to_owned()), "{method} {path}: {id} twice");
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path}: no tag"
        );
    }
    // The names a generated client exposes.
    for id in [
        "listCourses",
        "getCourse",
        "sendMessage",
        "getMe",
        "submitContact",
    ] {
        assert!(seen.contains(id), "{id} missing");
    }
}

#[tokio::test]
async fn every_error_response_is_problem_json() {
    let doc = document(&spawn_app(Kind::Embedded).await).await;
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('2') || status.starts_with('3') {
                continue;
            }
            // The one error with a body of its own: readiness per dependency, as JSON.
            if path == "/api/readyz" && status == "503" {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Readiness"
                );
                continue;
            }
            let content = response["content"].as_object();
            let keys: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
            assert_eq!(
                keys,
                ["application/problem+json"],
                "{method} {path} {status}: {response}"
            );
            assert_eq!(
                response["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
}

#[tokio::test]
async fn every_operation_lists_the_statuses_the_stack_can_answer() {
    let doc = document(&spawn_app(Kind::Embedded).await).await;
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        for status in ["429", "500", "503"] {
            assert!(has(status), "{method} {path}: no {status}");
        }
        let secured = op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
        });
        if secured {
            assert!(has("401"), "{method} {path}: secured without 401");
        }
        let body = op.get("requestBody").is_some();
        if body {
            assert!(
                has("413") && has("415"),
                "{method} {path}: body without 413/415"
            );
        }
        let parameters = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        if body || parameters {
            assert!(has("400"), "{method} {path}: input without 400");
        }
    }
    // Spot checks of the universal ones against their own routes.
    let me = &doc["paths"]["/api/v1/users/me"]["get"]["responses"];
    assert!(me["401"].is_object());
    let health = &doc["paths"]["/api/healthz"]["get"]["responses"];
    assert!(
        health["401"].is_null(),
        "a public route does not answer 401"
    );
    assert!(
        health["429"]["headers"]["Retry-After"].is_object(),
        "429 names Retry-After"
    );
}

fn query_parameter<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name && p["in"] == "query")
        .unwrap_or_else(|| panic!("{path} has no query parameter {name}"))
}

/// The values an enum schema lists, wherever utoipa put them (inline, or under a nullable
/// `oneOf`).
fn enum_values(schema: &Value) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    let mut stack = vec![schema];
    while let Some(s) = stack.pop() {
        if let Some(e) = s["enum"].as_array() {
            values.extend(e.iter().filter_map(|v| v.as_str().map(str::to_owned)));
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(list) = s[key].as_array() {
                stack.extend(list);
            }
        }
    }
    values
}

#[tokio::test]
async fn query_rules_the_handlers_enforce_are_in_the_document() {
    let doc = document(&spawn_app(Kind::Embedded).await).await;
    let category = query_parameter(&doc, "/api/v1/courses", "category");
    assert_eq!(
        enum_values(&category["schema"]),
        BTreeSet::from(["job-readiness", "education", "life-skills", "tech"].map(String::from))
    );
    let level = query_parameter(&doc, "/api/v1/courses", "level");
    assert_eq!(
        enum_values(&level["schema"]),
        BTreeSet::from(["beginner", "intermediate", "advanced"].map(String::from))
    );
    let kind = query_parameter(&doc, "/api/v1/forms", "type");
    assert_eq!(
        enum_values(&kind["schema"]),
        BTreeSet::from(["contact", "interest", "referral"].map(String::from))
    );
    for path in [
        "/api/v1/courses",
        "/api/v1/users",
        "/api/v1/files",
        "/api/v1/forms",
    ] {
        let limit = &query_parameter(&doc, path, "limit")["schema"];
        assert_eq!(limit["minimum"], 1, "{path}: {limit}");
        assert_eq!(limit["maximum"], 100, "{path}: {limit}");
    }
    let q = &query_parameter(&doc, "/api/v1/messages/search", "q")["schema"];
    assert_eq!(
        (q["minLength"].clone(), q["maxLength"].clone()),
        (2.into(), 100.into())
    );
    // Two response types once shared the name `Stats`, so one schema described both.
    let schemas = &doc["components"]["schemas"];
    let dashboard = schemas["DashboardStats"].to_string();
    assert!(dashboard.contains("unreadMessages"), "{dashboard}");
    assert!(schemas["Stats"]["properties"]["loginStreak"].is_object());
    // A user's dashboard has no platform figures: the flattened admin part requires nothing.
    assert!(!dashboard.contains(r#""type":"null""#), "{dashboard}");
    assert!(schemas["PlatformStats"]["required"].is_null());
}

/// axum's `Query` rejection answers text/plain; the contract's errors are problem+json.
async fn a_rejected_query_is_a_problem(kind: Kind) {
    let app = portal(kind, &[]).await;
    let problem_of = |r| problem(r, 400, "INVALID_REQUEST");
    let body = problem_of(app.get("/api/v1/courses?limit=-1").await).await;
    assert!(
        body["detail"].as_str().unwrap().contains("limit"),
        "names the parameter: {body}"
    );
    let token = user(&app, "Query").await;
    problem_of(get(&app, "/api/v1/conversations?limit=many", &token).await).await;
    let root = admin(&app).await;
    let body = problem_of(get(&app, "/api/v1/dashboard/metrics", &root).await).await;
    assert!(
        body["detail"].as_str().unwrap().contains("metric"),
        "{body}"
    );
    // What is not a rejection is unchanged: a handler's own validation problem.
    problem(
        app.get("/api/v1/courses?category=cooking").await,
        400,
        "VALIDATION_FAILED",
    )
    .await;
}

both!(a_rejected_query_is_a_problem);
