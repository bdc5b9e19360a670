//! Users: the stored account, profile routes, security activity, GDPR export and erase, and
//! admin management.

pub mod activity;
pub mod gdpr;
pub mod model;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::me, routes::update_me, routes::delete_me))
        .routes(routes!(routes::change_password))
        .routes(routes!(routes::my_activity))
        .routes(routes!(routes::data_export))
        .routes(routes!(routes::list))
        .routes(routes!(crate::audit::list))
        .routes(routes!(
            routes::get_one,
            routes::update_one,
            routes::delete_one
        ))
}
