//! The learning portal's courses: the catalog, authoring, enrollment, lessons and progress.

pub mod model;
pub mod progress;
pub mod routes;
pub mod seed;
pub mod stats;
pub mod store;

crate::api_routes!(
    routes::list,
    routes::create,
    routes::get_one,
    routes::update,
    routes::delete,
    routes::enroll,
    routes::lessons,
    routes::lesson,
    routes::complete,
    stats::my_progress,
);
