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

crate::api_routes!(
    routes::upload_url,
    routes::complete,
    routes::list,
    routes::get_one,
    routes::delete,
    shares::create,
    shares::list,
    shares::access,
    shares::revoke,
);
