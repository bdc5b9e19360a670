//! portal-api: the learning portal, chat and file-sharing backend, served as one Azure
//! Functions custom handler (see DESIGN.md). `main.rs` only reads settings and serves; all of
//! the application lives here so tests and benchmarks drive the same code.

pub mod api_routes;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod cors;
pub mod courses;
pub mod dashboard;
pub mod email;
pub mod error;
pub mod etag;
pub mod files;
pub mod forms;
pub mod headers;
pub mod health;
pub mod host;
pub mod jobs;
pub mod notifications;
pub mod openapi;
pub mod paging;
pub mod people;
pub mod rejection;
pub mod request_id;
pub mod router;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod users;

pub use router::Application;
pub use settings::Settings;
pub use state::AppState;
