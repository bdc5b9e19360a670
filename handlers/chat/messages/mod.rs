//! Messages: send (idempotent per `clientMessageId`), page newest first, edit, soft delete,
//! read receipts, typing, search. The core operations return the realtime [`Action`]s they
//! cause, so HTTP routes send them through the REST API and the Web PubSub trigger returns
//! them through its output binding.
//!
//! [`Action`]: super::model::Action

pub mod edit;
pub mod list;
pub mod receipts;
pub mod search;
pub mod send;

use serde_json::Value;

pub use receipts::{mark_read, typing_state};
pub use send::{SendRequest, send};

use super::model::MAX_TEXT;
use crate::error::FieldErrors;

const MAX_CIPHERTEXT_BYTES: usize = 64 * 1024;

fn check_ciphertext(value: &Value) -> bool {
    let fields_ok = ["alg", "iv", "data", "keyId"]
        .iter()
        .all(|f| value.get(f).is_some_and(Value::is_string));
    fields_ok && value.to_string().len() <= MAX_CIPHERTEXT_BYTES
}

/// Checks a message's content (a send's or an edit's); returns the trimmed text.
fn check_content(
    errors: &mut FieldErrors,
    text: &Option<String>,
    ciphertext: &Option<Value>,
) -> Option<String> {
    match (text, ciphertext) {
        (Some(_), Some(_)) => {
            errors.insert(
                "text".into(),
                vec!["Send text or ciphertext, not both.".into()],
            );
            None
        }
        (Some(text), None) => {
            let text = text.trim();
            let n = text.chars().count();
            if n == 0 || n > MAX_TEXT {
                errors.insert(
                    "text".into(),
                    vec![format!("Use 1 to {MAX_TEXT} characters.")],
                );
            }
            Some(text.to_owned())
        }
        (None, Some(c)) => {
            if !check_ciphertext(c) {
                errors.insert(
                    "ciphertext".into(),
                    vec!["Send {alg, iv, data, keyId} as strings, at most 64 KiB.".into()],
                );
            }
            None
        }
        (None, None) => None,
    }
}
