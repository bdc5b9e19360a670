//! Files: signed direct-to-blob uploads checked on completion, reads through short-lived
//! URLs, share links with expiry and counted uses, thumbnails made by a queue function, and
//! the daily sweep of what was abandoned.

pub mod cleanup;
pub mod gdpr;
pub mod model;
pub mod routes;
pub mod shares;
pub mod sniff;
pub mod store;
pub mod thumbnail;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::upload_url))
        .routes(routes!(routes::complete))
        .routes(routes!(routes::list))
        .routes(routes!(routes::get_one, routes::delete))
        .routes(routes!(shares::create))
        .routes(routes!(shares::list))
        .routes(routes!(shares::access, shares::revoke))
}
