//! `GET /api/healthz` (the process is up) and `GET /api/readyz` (every backend answers).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppJson;
use crate::state::AppState;
use crate::store::{Backend, BreakerState, StoreError, StoreResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The process is up; touches no backend.
#[utoipa::path(get, operation_id = "healthz", path = "/api/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> AppJson<Health> {
    AppJson(Health { status: "ok" })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DependencyStatus {
    #[schema(value_type = String, example = "embedded")]
    pub backend: Backend,
    /// `ok`, `down` or `timeout`.
    pub status: &'static str,
    /// The dependency's circuit breaker (Azure backends only): `closed`, `open` (calls fail at
    /// once with 503) or `halfOpen` (one probe call is in flight).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "closed")]
    pub breaker: Option<BreakerState>,
    /// What a `down` dependency lacks: a container or queue this app needs that does not
    /// exist (`container users`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when every dependency is `ok`, else `unavailable`.
    pub status: &'static str,
    pub dependencies: BTreeMap<&'static str, DependencyStatus>,
}

/// How long a backend may take to answer before it counts as down.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one probe's answer is served to every caller. `/api/readyz` is anonymous and not
/// rate limited: without this, each call would cost a request to Key Vault, Cosmos DB and the
/// rest.
pub const READY_CACHE: Duration = Duration::from_secs(5);

/// The last probe and when it finished. The lock is held while probing, so concurrent callers
/// wait for the one probe in flight and share its answer instead of starting their own.
#[derive(Default)]
pub struct ReadinessCache(tokio::sync::Mutex<Option<(Instant, Arc<Answer>)>>);

/// One probe's status code and body.
type Answer = (StatusCode, Readiness);

/// A dependency's status, and what it lacks when that is why it is down.
type Checked = (&'static str, Option<String>);

async fn check(name: &'static str, ping: impl Future<Output = StoreResult<()>>) -> Checked {
    match tokio::time::timeout(PING_TIMEOUT, ping).await {
        Ok(Ok(())) => ("ok", None),
        Ok(Err(StoreError::Missing(what))) => {
            tracing::warn!(dependency = name, "readiness check: {what} does not exist");
            ("down", Some(what))
        }
        Ok(Err(e)) => {
            tracing::warn!(dependency = name, "readiness check failed: {e}");
            ("down", None)
        }
        Err(_) => {
            tracing::warn!(dependency = name, "readiness check timed out");
            ("timeout", None)
        }
    }
}

/// Pings every backend at once and reports each; 503 when any is not `ok`. The answer is at
/// most 5 seconds old: one probe serves every caller in that window.
#[utoipa::path(get, operation_id = "readyz", path = "/api/readyz", tag = "health",
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "At least one dependency is down", body = Readiness),
    ))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, AppJson<Readiness>) {
    let mut cached = state.readiness.0.lock().await;
    let answer = match cached.as_ref() {
        Some((at, answer)) if at.elapsed() < READY_CACHE => answer.clone(),
        _ => {
            let answer = Arc::new(probe(&state).await);
            *cached = Some((Instant::now(), answer.clone()));
            answer
        }
    };
    drop(cached);
    let (code, readiness) = answer.as_ref().clone();
    (code, AppJson(readiness))
}

async fn probe(state: &AppState) -> Answer {
    let s = &state.stores;
    let (documents, blobs, queues, secrets, cache) = tokio::join!(
        check("documents", s.documents.ping()),
        check("blobs", s.blobs.ping()),
        check("queues", s.queues.ping()),
        check("secrets", s.secrets.ping()),
        check("cache", s.cache.ping()),
    );
    let statuses = [documents, blobs, queues, secrets, cache];
    let dependencies: BTreeMap<_, _> = s
        .backends
        .all()
        .into_iter()
        .zip(statuses)
        .map(|((name, backend), (status, missing))| {
            let breaker = s
                .breakers
                .iter()
                .find(|b| b.dependency() == name)
                .map(|b| b.state());
            let dependency = DependencyStatus {
                backend,
                status,
                breaker,
                missing,
            };
            (name, dependency)
        })
        .collect();
    let ready = dependencies.values().all(|d| d.status == "ok");
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Readiness {
            status: if ready { "ready" } else { "unavailable" },
            dependencies,
        },
    )
}
