//! Translates the portable query shape (`store::query`) into SQLite JSON1 conditions over the
//! `body` column.

use serde_json::Value;

use crate::store::StoreResult;
use crate::store::query::{Cmp, Filter, field_path};

/// SQLite JSON path: `$.a.b`.
pub(super) fn sqlite_path(field: &str) -> StoreResult<String> {
    Ok(format!("$.{}", field_path(field)?.join(".")))
}

/// A value bound as a SQLite parameter compares like `json_extract` returns it: strings as
/// text, numbers as numbers, booleans as 0/1.
pub(super) fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => V::Text(s.clone()),
        other => V::Text(other.to_string()),
    }
}

/// Translates filters into SQLite conditions over the `body` JSON column.
pub(super) fn sqlite_condition(
    filters: &[Filter],
    params: &mut Vec<rusqlite::types::Value>,
) -> StoreResult<Vec<String>> {
    filters
        .iter()
        .map(|f| {
            let path = sqlite_path(&f.field)?;
            let field = format!("json_extract(body, '{path}')");
            let clause = match f.cmp {
                Cmp::Exists => return Ok(format!("json_type(body, '{path}') IS NOT NULL")),
                Cmp::Missing => return Ok(format!("json_type(body, '{path}') IS NULL")),
                Cmp::Eq if f.value.is_null() => {
                    return Ok(format!("json_type(body, '{path}') = 'null'"));
                }
                Cmp::Eq => format!("{field} = ?"),
                Cmp::Ne => format!("({field} IS NOT ? OR json_type(body, '{path}') IS NULL)"),
                Cmp::Lt => format!("{field} < ?"),
                Cmp::Lte => format!("{field} <= ?"),
                Cmp::Gt => format!("{field} > ?"),
                Cmp::Gte => format!("{field} >= ?"),
                Cmp::Contains => format!("instr(lower({field}), lower(?)) > 0"),
                Cmp::ArrayContains => {
                    format!("EXISTS (SELECT 1 FROM json_each(body, '{path}') WHERE value = ?)")
                }
                // The values as one JSON array parameter, so the statement text is the same
                // whatever their number.
                Cmp::In => {
                    params.push(rusqlite::types::Value::Text(f.value.to_string()));
                    return Ok(format!("{field} IN (SELECT value FROM json_each(?))"));
                }
            };
            params.push(sqlite_value(&f.value));
            Ok(clause)
        })
        .collect()
}
