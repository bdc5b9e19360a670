//! Cursor paging shared by the list routes (DESIGN.md section 4): `?limit=` (default 20, at
//! most 100) and `?cursor=` (the `nextCursor` of the previous page, an opaque string).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult, Code};
use crate::store::BadInput;

/// The query of a plain cursor-paged list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// The page size a `limit` asks for, within 1..=100 (a value outside is clamped, not refused).
pub fn page_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(20).clamp(1, 100)
}

/// A cursor the handler keeps itself (where the store's continuation is not enough): the
/// position as JSON, base64url, opaque to the client.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).expect("a cursor serialises"))
}

/// The position of a cursor from [`encode_cursor`]; anything else is 400 `INVALID_REQUEST`.
pub fn decode_cursor<T: DeserializeOwned>(raw: &str) -> ApiResult<T> {
    URL_SAFE_NO_PAD
        .decode(raw.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::new(Code::InvalidRequest, BadInput::Cursor.message()))
}
