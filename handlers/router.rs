//! The application above the domains: the `/api` router composed from every domain's routes,
//! the middleware stack, and the listener. The only module that imports every domain.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, AppJson, Code};
use crate::host::{dev, dev_blobs, dispatch, guard, web_app};
use crate::settings::{RunMode, Settings};
use crate::state::AppState;
use crate::store::Stores;
use crate::{cors, headers, request_id};

/// The default JSON body limit; routes that need more say so explicitly.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Invocation payloads carry queue messages and Web PubSub frames (up to 1 MB each, base64).
const INVOCATION_BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "portal-api",
        description = "Learning portal, chat and file sharing API. Errors are application/problem+json with a stable `code`."
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts, sessions and tokens"),
        (name = "users", description = "Profiles, GDPR export and erase, admin user management"),
        (name = "courses", description = "Course catalog, enrollment, lessons and progress"),
        (name = "forms", description = "Contact, interest and referral forms, and their review"),
        (name = "dashboard", description = "Personal and platform numbers, metrics, activity"),
        (name = "files", description = "Direct-to-blob uploads, downloads, share links, thumbnails"),
        (name = "chat", description = "Conversations, messages, receipts, keys, realtime negotiation"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` scheme the operations' `security` refers to.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The health routes, beside the domains'.
mod health_routes {
    crate::api_routes!(crate::health::healthz, crate::health::readyz);
}

/// The `/api` routes of every domain.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(health_routes::router())
        .merge(crate::auth::router())
        .merge(crate::users::router())
        .merge(crate::courses::router())
        .merge(crate::forms::router())
        .merge(crate::dashboard::router())
        .merge(crate::files::router())
        .merge(crate::chat::router())
        .merge(crate::people::router())
        .merge(crate::notifications::router())
}

/// The OpenAPI document of [`api_routes`], from the same lists, complete with what every
/// operation can answer.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health_routes::documented())
        .merge(crate::auth::documented())
        .merge(crate::users::documented())
        .merge(crate::courses::documented())
        .merge(crate::forms::documented())
        .merge(crate::dashboard::documented())
        .merge(crate::files::documented())
        .merge(crate::chat::documented())
        .merge(crate::people::documented())
        .merge(crate::notifications::documented())
        .split_for_parts();
    crate::openapi::complete(&mut openapi);
    openapi.info.version = env!("CARGO_PKG_VERSION").to_owned();
    openapi
}

/// Assembles the whole router for `state`.
pub fn router(state: AppState) -> Router {
    let routes = routes(&state);
    with_middleware(routes, state)
}

/// Every route, without the outer middleware.
fn routes(state: &AppState) -> Router<AppState> {
    // Built and serialised on the first request, not at start-up (cold start), then served as
    // the same bytes.
    let document: Arc<std::sync::OnceLock<bytes::Bytes>> = Arc::default();
    let api = api_routes().route(
        "/api/openapi.json",
        get(move || {
            let body = document
                .get_or_init(|| {
                    serde_json::to_vec(&openapi_document())
                        .unwrap_or_default()
                        .into()
                })
                .clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    );

    // Non-HTTP invocations: no request timeout here, the host enforces functionTimeout. The
    // function doors refuse cross-site requests (host/guard.rs).
    let same_origin_json = middleware::from_fn_with_state(state.clone(), guard::same_origin_json);
    // In local mode the reference web app answers `/` and every page path (host/web_app.rs).
    let local = state.settings.mode == RunMode::Local;
    let invocation = post(dispatch::invocation_route)
        .layer(DefaultBodyLimit::max(INVOCATION_BODY_LIMIT))
        .layer(same_origin_json.clone());
    // A one-segment page (`/signin`) shares its path with the function doors.
    let invocation = if local {
        invocation.get(web_app::serve)
    } else {
        invocation
    };
    let mut app = Router::new()
        .route(
            "/",
            if local {
                get(web_app::serve)
            } else {
                get(root)
            },
        )
        .route("/{function}", invocation)
        .merge(api_limits(api, state));

    if local {
        app = app
            .route(
                "/admin/functions/{name}",
                post(dev::run_now).layer(same_origin_json),
            )
            .route("/api/dev/mailbox", get(crate::email::mailbox::list_route))
            .route("/client/hubs/{hub}", get(crate::chat::hub::connect_route))
            .route(
                "/api/dev/blobs/{container}/{*name}",
                put(dev_blobs::put_blob)
                    .get(dev_blobs::get_blob)
                    .layer(DefaultBodyLimit::disable()),
            );
    }
    app
}

/// The default body limit, problem+json for extractor rejections, the request timeout and the
/// general rate limit of `/api` routes.
fn api_limits(api: Router<AppState>, state: &AppState) -> Router<AppState> {
    api.layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(crate::rejection::problem_json))
        .layer(middleware::from_fn_with_state(
            state.settings.request_timeout,
            timeout_middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::limits::general,
        ))
}

/// Bodies of at least 1 KiB, not gRPC, images or event streams (tower-http's default
/// predicate, with 1 KiB for its 32 bytes): below that gzip saves a few hundred bytes at the
/// cost of a compressor's setup per response, which was a fifth of a signed-in `users/me`.
fn worth_compressing() -> impl tower_http::compression::Predicate {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
}

/// Fallbacks and the outer stack: request id (outermost, so every answer carries it), the
/// security headers, CORS when configured, panic to 500 problem, compression.
fn with_middleware(app: Router<AppState>, state: AppState) -> Router {
    let trusted_hops = state.settings.trusted_proxy_hops;
    let cors_origins = state.settings.cors_origins.clone();
    let app = app
        .route_layer(middleware::from_fn(headers::no_store))
        .route_layer(middleware::from_fn(request_id::record_route));
    let app = if state.settings.mode == RunMode::Local {
        app.fallback(web_app::serve)
    } else {
        app.fallback(not_found)
    };
    let app = app
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(CompressionLayer::new().compress_when(worth_compressing()))
        .layer(CatchPanicLayer::custom(panic_response));
    // CORS inside the security headers (a preflight answer carries them too) and the request
    // id; outside everything else, so errors, 429s and 404s are readable by allowed pages.
    let app = cors::layer(app, &cors_origins);
    headers::layer(app, trusted_hops).layer(middleware::from_fn(request_id::middleware))
}

/// `GET /`: the Functions host polls it until the handler answers.
pub(crate) async fn root() -> AppJson<serde_json::Value> {
    AppJson(serde_json::json!({"service": "portal-api", "health": "/api/healthz"}))
}

async fn not_found() -> ApiError {
    ApiError::not_found("No route matches this path.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        "This path does not accept that method.",
    )
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

async fn timeout_middleware(
    State(timeout): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(Code::Timeout, "The request took too long; retry shortly.")
            .with_retry_after(1)
            .into_response(),
    }
}

/// A bound, ready-to-serve application. `port()` is known before serving, so tests bind port
/// 0 and ask.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds 127.0.0.1 (never 0.0.0.0: in Azure only the host may call us) and builds the
    /// state. Reads local files only; makes no network call.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, settings.port))).await?;
        let port = listener.local_addr()?.port();
        settings.port = port;
        if settings.public_base_url.is_none() {
            settings.public_base_url = Some(url::Url::parse(&format!("http://127.0.0.1:{port}"))?);
        }
        let state = AppState::build(settings)?;
        Ok(Self { listener, state })
    }

    pub fn port(&self) -> u16 {
        self.state.settings.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Swaps a backend before serving: how tests reach a store that settings alone cannot
    /// configure (a Key Vault fake whose certificate only the test trusts).
    pub fn replace_stores(&mut self, change: impl FnOnce(&mut Stores)) -> anyhow::Result<()> {
        let services = self
            .state
            .services_mut()
            .ok_or_else(|| anyhow::anyhow!("the stores are replaced before serving"))?;
        change(&mut services.stores);
        // The key ring holds the secrets store it was built with: rebuild it on the new one.
        services.auth = crate::auth::Auth::new(&services.settings, &services.stores)?;
        Ok(())
    }

    /// Serves until the process is told to stop; in local mode also runs the dev host.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.state.settings.mode == RunMode::Local {
            dev::spawn(self.state.clone());
        }
        tracing::info!(
            mode = ?self.state.settings.mode,
            "listening on http://127.0.0.1:{}",
            self.port()
        );
        let app = router(self.state);
        axum::serve(
            without_nagle(self.listener),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
    }
}

/// The listener's connections with TCP_NODELAY set, so that every answer and realtime frame
/// goes out as soon as it is written. With Nagle's algorithm on (axum leaves it on), a second
/// small write on a connection waits for the peer's ACK of the first, and a peer that delays
/// its ACK makes that 40 ms: it was the tail of the chat fan-out.
fn without_nagle(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set on an accepted connection");
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request as HttpRequest;
    use axum::http::StatusCode;
    use serde_json::Value;
    use tower::ServiceExt;

    async fn state(dir: &std::path::Path) -> AppState {
        let settings = Settings::from_lookup(|k| match k {
            "PORT" => Some("0".into()),
            "DATA_DIR" => Some(dir.display().to_string()),
            _ => None,
        })
        .unwrap();
        Application::build(settings).await.unwrap().state().clone()
    }

    #[tokio::test]
    async fn accepted_connections_send_without_delay() {
        use axum::serve::Listener;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut listener = without_nagle(listener);
        let client = TcpStream::connect(address).await.unwrap();
        let (accepted, peer) = listener.accept().await;
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(accepted.nodelay().unwrap());
    }

    #[derive(serde::Deserialize)]
    struct Probe {
        #[allow(dead_code)]
        name: String,
    }

    /// The real middleware around routes that misbehave on purpose.
    async fn app() -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path()).await;
        let probes = Router::new()
            .route(
                "/api/probe/panic",
                get(|| async {
                    if true {
                        panic!("boom");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/api/probe/slow",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/api/probe/json",
                post(|AppJson(_): AppJson<Probe>| async { "ok" }),
            );
        let mut settings = (*state.settings).clone();
        settings.request_timeout = std::time::Duration::from_millis(200);
        let slow = state.with_settings(settings);
        let routes = routes(&state).merge(api_limits(probes, &slow));
        (with_middleware(routes, state), dir)
    }

    async fn call(app: Router, request: HttpRequest<Body>) -> (StatusCode, Value) {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        assert!(response.headers().contains_key("x-request-id"));
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn get_req(path: &str) -> HttpRequest<Body> {
        HttpRequest::get(path).body(Body::empty()).unwrap()
    }

    fn post_req(path: &str, content_type: &str, body: impl Into<Body>) -> HttpRequest<Body> {
        HttpRequest::post(path)
            .header("content-type", content_type)
            .body(body.into())
            .unwrap()
    }

    #[tokio::test]
    async fn a_panic_is_a_500_problem_with_the_request_id() {
        let (app, _dir) = app().await;
        let (status, body) = call(app, get_req("/api/probe/panic")).await;
        assert_eq!(status, 500);
        assert_eq!(body["code"], "INTERNAL");
        assert!(body["requestId"].is_string());
        assert!(
            !body.to_string().contains("boom"),
            "the cause stays in the logs"
        );
    }

    #[tokio::test]
    async fn a_slow_request_times_out_as_a_503_problem() {
        let (app, _dir) = app().await;
        let (status, body) = call(app, get_req("/api/probe/slow")).await;
        assert_eq!(status, 503);
        assert_eq!(body["code"], "TIMEOUT");
    }

    #[tokio::test]
    async fn json_rejections_use_the_problem_format() {
        let (app, _dir) = app().await;
        let (status, body) = call(
            app.clone(),
            post_req("/api/probe/json", "application/json", "{oops"),
        )
        .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("MALFORMED_JSON"))
        );
        let (status, body) = call(
            app.clone(),
            post_req("/api/probe/json", "application/json", "{}"),
        )
        .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("INVALID_BODY"))
        );
        let (status, body) =
            call(app.clone(), post_req("/api/probe/json", "text/plain", "{}")).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (415, Some("UNSUPPORTED_MEDIA_TYPE"))
        );
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(BODY_LIMIT + 1));
        let (status, body) = call(app, post_req("/api/probe/json", "application/json", big)).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (413, Some("PAYLOAD_TOO_LARGE"))
        );
    }

    #[tokio::test]
    async fn an_oversized_invocation_is_a_413_problem() {
        let (app, _dir) = app().await;
        let big = format!(
            "{{\"Data\": {{\"x\": \"{}\"}}}}",
            "x".repeat(INVOCATION_BODY_LIMIT)
        );
        let (status, body) = call(app, post_req("/cleanup", "application/json", big)).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (413, Some("PAYLOAD_TOO_LARGE"))
        );
    }
}
