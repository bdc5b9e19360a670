//! Contact, interest and referral forms: anonymous submissions validated per type, rate-limited
//! per IP, with a honeypot for bots and a notification through the outbox; admin review with
//! an audit trail and a CSV export.

pub mod model;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::submit_contact))
        .routes(routes!(routes::submit_interest))
        .routes(routes!(routes::submit_referral))
        .routes(routes!(routes::list))
        .routes(routes!(routes::export_csv))
        .routes(routes!(routes::get_one, routes::update))
        .routes(routes!(routes::audit))
}
