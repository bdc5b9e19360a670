//! `functions/` and the router agree: each HTTP function.json covers real routes, each `/api`
//! route is covered by exactly one function, each other function has a trigger implementation,
//! and every binding type is one the handler understands.

use std::path::PathBuf;

use portal_api::host::Catalog;
use portal_api::host::catalog::KNOWN_BINDING_TYPES;
use portal_api::host::dispatch::registry;
use serde_json::Value;

use crate::helpers::{Kind, spawn_app};

/// Azure Functions route template matching (ASP.NET style): literals, `{param}` or
/// `{param:constraint}` for one segment, `{*rest}` for the remainder.
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, seg) in t.iter().enumerate() {
        if seg.starts_with("{*") {
            // ASP.NET catch-alls match the rest, empty included.
            return true;
        }
        let Some(actual) = p.get(i) else {
            return seg.ends_with("?}");
        };
        let is_param = seg.starts_with('{') && seg.ends_with('}');
        if !is_param && !seg.eq_ignore_ascii_case(actual) {
            return false;
        }
    }
    t.len() == p.len()
}

#[test]
fn template_matching_rules() {
    assert!(template_matches("v1/auth/{*rest}", "v1/auth/login"));
    assert!(template_matches("v1/auth/{*rest}", "v1/auth/sessions/{id}"));
    assert!(template_matches("v1/users/{*rest}", "v1/users"));
    assert!(!template_matches("v1/users/{*rest}", "v1/userz/me"));
    assert!(template_matches("v1/courses/{id}", "v1/courses/{courseId}"));
    assert!(!template_matches("healthz", "readyz"));
    assert!(template_matches("openapi.json", "openapi.json"));
}

#[tokio::test]
async fn functions_and_routes_agree() {
    let app = spawn_app(Kind::Embedded).await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let catalog = Catalog::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(!catalog.functions.is_empty());

    // (route without /api/, method) for every documented operation.
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let route = path
            .strip_prefix("/api/")
            .expect("every route is under /api");
        for method in item.as_object().unwrap().keys() {
            operations.push((route.to_owned(), method.to_lowercase()));
        }
    }
    // The OpenAPI document is served by a route too.
    operations.push(("openapi.json".into(), "get".into()));

    let http_functions: Vec<_> = catalog.functions.values().filter(|f| f.is_http()).collect();
    for f in &http_functions {
        let trigger = f.trigger().expect("an http function has a trigger");
        let route = trigger
            .route
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no route", f.name));
        let methods = trigger
            .methods
            .as_ref()
            .unwrap_or_else(|| panic!("{} lists no methods", f.name));
        for m in methods {
            let covered = operations
                .iter()
                .any(|(r, op)| op == &m.to_lowercase() && template_matches(route, r));
            assert!(
                covered,
                "{} allows {m} {route}, which no route serves",
                f.name
            );
        }
    }
    for (route, method) in &operations {
        let covering: Vec<&str> = http_functions
            .iter()
            .filter(|f| {
                let t = f.trigger().unwrap();
                template_matches(t.route.as_deref().unwrap_or(""), route)
                    && t.methods
                        .as_ref()
                        .is_none_or(|ms| ms.iter().any(|m| m.eq_ignore_ascii_case(method)))
            })
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            covering.len(),
            1,
            "{method} /api/{route} is covered by {covering:?}"
        );
    }

    for f in catalog.functions.values() {
        for b in &f.json.bindings {
            assert!(
                KNOWN_BINDING_TYPES.contains(&b.kind.as_str()),
                "{} uses binding type {} the handler does not understand",
                f.name,
                b.kind
            );
        }
        if !f.is_http() {
            let trigger = f
                .trigger()
                .unwrap_or_else(|| panic!("{} has no trigger", f.name));
            let registered = registry()
                .get(f.name.as_str())
                .unwrap_or_else(|| panic!("{} has no trigger function in the handler", f.name));
            assert_eq!(registered.trigger_type, trigger.kind, "{}", f.name);
        }
    }
    for name in registry().keys() {
        assert!(
            catalog.get(name).is_some(),
            "trigger function {name} has no function.json"
        );
    }
}
