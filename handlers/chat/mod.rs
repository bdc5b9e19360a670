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
pub mod people;
pub mod realtime;
pub mod store;
pub mod triggers;

crate::api_routes!(
    conversations::create,
    conversations::list,
    conversations::get_one,
    conversations::update,
    conversations::add_participant,
    conversations::remove_participant,
    messages::send::post,
    messages::list::list,
    messages::search::search,
    messages::edit::edit,
    messages::edit::delete,
    messages::receipts::read,
    messages::receipts::typing,
    keys::put_envelopes,
    keys::my_envelope,
    keys::put_backup,
    keys::get_backup,
    realtime::negotiate,
    archive::list,
    archive::restore,
);
