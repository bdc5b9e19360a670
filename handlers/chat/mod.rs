//! MackChat: direct and group conversations, messages with idempotent sends and stable paging,
//! read receipts, typing and presence, end-to-end encryption support (opaque ciphertext, key
//! envelopes, key backup), and realtime delivery through Azure Web PubSub or the local hub.

pub mod archive;
pub mod conversations;
pub mod gdpr;
pub mod hub;
pub mod keys;
pub mod messages;
pub mod model;
pub mod realtime;
pub mod store;
pub mod triggers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(conversations::create, conversations::list))
        .routes(routes!(conversations::get_one, conversations::update))
        .routes(routes!(conversations::add_participant))
        .routes(routes!(conversations::remove_participant))
        .routes(routes!(messages::send::post, messages::list::list))
        .routes(routes!(messages::search::search))
        .routes(routes!(messages::edit::edit, messages::edit::delete))
        .routes(routes!(messages::receipts::read))
        .routes(routes!(messages::receipts::typing))
        .routes(routes!(keys::put_envelopes))
        .routes(routes!(keys::my_envelope))
        .routes(routes!(keys::put_backup, keys::get_backup))
        .routes(routes!(realtime::negotiate))
        .routes(routes!(archive::list))
        .routes(routes!(archive::restore))
}
