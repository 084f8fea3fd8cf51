//! Cursor pagination, the same on every list route: `?limit=` (1 to 500, default 500) and
//! `?cursor=` (opaque: the `nextCursor` of the previous page). Responses carry `nextCursor`,
//! `null` on the last page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// Page size when `?limit=` is absent.
/// As large as a page may be, so a client that does not page (the seed server's clients
/// list sessions in one call) gets what it got before, up to 500.
pub const DEFAULT_LIMIT: usize = MAX_LIMIT;
/// The largest `?limit=`.
pub const MAX_LIMIT: usize = 500;

/// The query of a list route, as sent.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 500).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// The `nextCursor` of the previous page (empty: the first page).
    cursor: Option<String>,
}

/// A validated page request: the page size and the store token to start after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl PageQuery {
    pub fn parse(&self) -> ApiResult<PageRequest> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "validation_error",
                        format!("limit: a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        let after = self
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode)
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

fn decode(cursor: &str) -> ApiResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "validation_error",
                "cursor: not a cursor from a previous page",
            )
        })
}

/// The `nextCursor` value for a store's next-page token.
pub fn next_cursor(next: Option<&str>) -> Value {
    next.map_or(Value::Null, |n| Value::String(URL_SAFE_NO_PAD.encode(n)))
}

/// A page as every list route answers it: `{ <field>: [view of each item], count, nextCursor }`.
pub fn page_json<T>(
    field: &str,
    page: &wagate_core::ports::Page<T>,
    view: impl Fn(&T) -> Value,
) -> axum::Json<Value> {
    let items: Vec<Value> = page.items.iter().map(view).collect();
    let mut body = serde_json::Map::new();
    body.insert("count".into(), items.len().into());
    body.insert(field.into(), items.into());
    body.insert("nextCursor".into(), next_cursor(page.next.as_deref()));
    axum::Json(body.into())
}
