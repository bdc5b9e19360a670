//! The learning portal's courses: the catalog, authoring, enrollment, lessons and progress.

pub mod model;
pub mod progress;
pub mod routes;
pub mod seed;
pub mod stats;
pub mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::list, routes::create))
        .routes(routes!(routes::get_one, routes::update, routes::delete))
        .routes(routes!(routes::enroll))
        .routes(routes!(routes::lessons))
        .routes(routes!(routes::lesson))
        .routes(routes!(routes::complete))
        .routes(routes!(stats::my_progress))
}
