//! The custom-handler side of the app: the invocation protocol, the function catalog read from
//! function.json files, dispatch by function name, and the local dev host.

pub mod catalog;
pub mod dev;
pub mod dev_blobs;
mod dev_blocks;
pub mod dispatch;
pub mod guard;
pub mod protocol;
pub mod web_app;

pub use catalog::Catalog;
pub use protocol::{Invocation, InvocationReply, InvocationRequest};
