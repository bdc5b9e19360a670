//! The learning portal's courses: the catalog, authoring, enrollment, lessons and progress.

pub mod authors;
pub mod learner;
pub mod media;
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
    learner::unenroll,
    learner::rate,
    media::media,
    routes::lessons,
    authors::learners,
    routes::lesson,
    routes::complete,
    learner::set_position,
    stats::my_progress,
);
