//! Cursor paging shared by the list routes (DESIGN.md section 4): `?limit=` (default 20, at
//! most 100) and `?cursor=` (the `nextCursor` of the previous page, an opaque string).

use serde::Deserialize;

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
