//! Contact, interest and referral forms: anonymous submissions validated per type, rate-limited
//! per IP, with a honeypot for bots and a notification through the outbox; admin review with
//! an audit trail and a CSV export.

pub mod model;
pub mod routes;
pub mod store;

crate::api_routes!(
    routes::submit_contact,
    routes::submit_interest,
    routes::submit_referral,
    routes::list,
    routes::export_csv,
    routes::get_one,
    routes::update,
    routes::audit,
);
