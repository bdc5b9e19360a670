//! The finishing pass over the generated OpenAPI document: the error responses every operation
//! can answer because of the middleware around it, not because of its own code, added in ONE
//! place so no annotation can forget them, and every error response described as what it is on
//! the wire, `application/problem+json` with the `Problem` schema.
//!
//! What each operation adds by itself (404, 409, 410, 403, 422...) stays in its
//! `#[utoipa::path]` annotation; this pass only adds a status an operation does not list. An
//! error with a documented body of its own (`readyz`'s 503 readiness report) is left as it is.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the universal responses to every operation and rewrites every error response's content
/// as problem+json. Runs on the document of all routes (router.rs), after the domains' routers
/// are merged: a `utoipa::Modify` on the `#[openapi]` struct would run before they are.
pub fn complete(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            add_universal(operation);
            for (status, response) in operation.responses.responses.iter_mut() {
                if !status.starts_with('2')
                    && !status.starts_with('3')
                    && let RefOr::T(response) = response
                    && is_problem_or_nothing(response)
                {
                    as_problem(response);
                }
            }
        }
    }
}

/// The statuses the stack around a route can answer, whatever the route does.
fn add_universal(operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_path_parameter = parameters
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_body = operation.request_body.is_some();
    // An empty requirement (`()`) in the list makes the token optional; a token that is sent
    // is still checked, so 401 applies to every operation that names the scheme.
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|s| !s.is_empty() && s.iter().any(|r| r != &Default::default()));

    if !parameters.is_empty() || has_body {
        add(
            operation,
            "400",
            "Invalid input (`VALIDATION_FAILED`, `INVALID_REQUEST`, `MALFORMED_JSON`...)",
            false,
        );
    }
    if secured {
        add(
            operation,
            "401",
            "Missing, invalid, expired or revoked bearer token (`UNAUTHORIZED`, `INVALID_TOKEN`, `TOKEN_REVOKED`)",
            false,
        );
    }
    // Admin operations name the role in their requirement (`"bearer" = ["admin"]`, as
    // OpenAPI 3.1 allows for non-OAuth schemes): the stored role is checked on every call.
    let roles = operation.security.as_ref().and_then(|s| {
        s.iter().find_map(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.get("bearer").cloned())
                .filter(|roles| roles.as_array().is_some_and(|a| !a.is_empty()))
        })
    });
    if let Some(roles) = roles {
        let detail = if roles == serde_json::json!(["admin"]) {
            "The caller is not an active admin (`FORBIDDEN`)"
        } else {
            "The caller has none of the roles named, or is not the course's mentor (`FORBIDDEN`)"
        };
        add(operation, "403", detail, false);
    }
    if has_path_parameter {
        // A path segment that names nothing, or that no route matches.
        add(operation, "404", "`NOT_FOUND`", false);
    }
    if has_body {
        add(
            operation,
            "413",
            "The body is over the size limit (`PAYLOAD_TOO_LARGE`)",
            false,
        );
        add(
            operation,
            "415",
            "The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)",
            false,
        );
    }
    add(
        operation,
        "429",
        "Too many requests from this address or account (`RATE_LIMITED`); see `Retry-After`",
        true,
    );
    add(
        operation,
        "500",
        "Unexpected server error (`INTERNAL`)",
        false,
    );
    add(
        operation,
        "503",
        "A backend is unreachable (`UNAVAILABLE`) or the request took too long (`TIMEOUT`); see `Retry-After`",
        true,
    );
}

fn add(operation: &mut Operation, status: &str, description: &str, retry_after: bool) {
    let responses = &mut operation.responses.responses;
    if responses.contains_key(status) {
        return;
    }
    let mut response = Response::new(description);
    if retry_after {
        response.headers.insert(
            "Retry-After".to_owned(),
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    responses.insert(status.to_owned(), RefOr::T(response));
}

/// An error response that names no body or the `Problem` one (under whichever media type the
/// annotation wrote). An error with a body of its own, such as `readyz`'s 503 readiness report,
/// keeps it: the handler answers it as that JSON.
fn is_problem_or_nothing(response: &Response) -> bool {
    response
        .content
        .values()
        .all(|content| match &content.schema {
            None => true,
            Some(RefOr::Ref(r)) => r.ref_location == "#/components/schemas/Problem",
            Some(RefOr::T(_)) => false,
        })
}

/// Error answers are problem+json with the `Problem` schema.
fn as_problem(response: &mut Response) {
    response.content.clear();
    response.content.insert(
        PROBLEM_JSON.to_owned(),
        Content::new(Some(Ref::from_schema_name("Problem"))),
    );
}
