//! One list of handlers gives both a domain's `/api` routes and their OpenAPI operations, so the
//! two cannot disagree, without paying for the document at start-up.
//!
//! `utoipa_axum::routes!` builds every operation (its parameters, bodies, responses and schemas)
//! as it routes: about 5.5 ms of a 6.5 ms cold start, for a document that only
//! `/api/openapi.json` (and the client generator) ever reads. [`api_routes!`] routes from each
//! handler's path and methods alone (two strings from its `#[utoipa::path]`), and builds the
//! documented router from the same list only when the document is asked for.

use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;
use utoipa::openapi::HttpMethod;
use utoipa_axum::PathItemExt;

use crate::state::AppState;

/// Defines `router()` (the routes) and `documented()` (the same routes with their OpenAPI
/// operations) for a list of `#[utoipa::path]` handlers. Handlers that share a path are merged
/// into one method router, as `utoipa_axum::routes!` merges them.
#[macro_export]
macro_rules! api_routes {
    ($( $($segment:ident)::+ ),+ $(,)?) => {
        /// This domain's routes, without their documentation.
        pub fn router() -> axum::Router<$crate::state::AppState> {
            let router = axum::Router::new();
            $(
                // utoipa-axum's own resolution of a handler's `__path_` type (the same arm its
                // `routes!` uses), asking only for the path and the methods.
                let router = $crate::api_routes::route(
                    router,
                    utoipa_axum::routes!(@path [path()] of $($segment)::+),
                    utoipa_axum::routes!(@path [methods()] of $($segment)::+),
                    $($segment)::+,
                );
            )+
            router
        }

        /// The same routes with their OpenAPI operations (built on demand: see `api_routes`).
        pub fn documented() -> utoipa_axum::router::OpenApiRouter<$crate::state::AppState> {
            utoipa_axum::router::OpenApiRouter::new()
                $( .routes(utoipa_axum::routes!($($segment)::+)) )+
        }
    };
}

/// Adds `handler` under `path` for each of its methods. A path routed before keeps its other
/// methods: axum merges method routers of one path.
pub fn route<H, T>(
    router: Router<AppState>,
    path: String,
    methods: Vec<HttpMethod>,
    handler: H,
) -> Router<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let method_router = methods.iter().fold(MethodRouter::new(), |router, method| {
        router.on(method.to_method_filter(), handler.clone())
    });
    router.route(&path, method_router)
}
