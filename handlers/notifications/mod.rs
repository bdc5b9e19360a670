//! Notifications: what happened while a user was away (a message, being added to a group, a
//! form's review, a course's new lessons, an accepted invite), listed newest first, pushed to
//! the user's connections as `notification.new`, and for `message` a digest email after a
//! while offline (`notify-digest`).

pub mod digest;
pub mod model;
pub mod routes;
pub mod store;

pub use model::Kind;
pub use store::{record, record_for};

crate::api_routes!(
    routes::list,
    routes::unread_count,
    routes::read_all,
    routes::read,
);
