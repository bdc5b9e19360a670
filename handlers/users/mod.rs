//! Users: the stored account, profile routes, security activity, GDPR export and erase, and
//! admin management.

pub mod activity;
pub mod admin_create;
pub mod admins;
pub mod email_change;
pub mod gdpr;
pub mod identities;
pub mod model;
pub mod owner;
pub mod routes;
pub mod store;

crate::api_routes!(
    routes::me,
    routes::update_me,
    routes::delete_me,
    routes::change_password,
    email_change::request,
    identities::list,
    identities::unlink,
    routes::my_activity,
    routes::data_export,
    routes::list,
    admin_create::create,
    crate::audit::list,
    routes::get_one,
    routes::update_one,
    routes::delete_one,
);
