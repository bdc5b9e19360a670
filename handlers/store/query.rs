//! A small, portable query shape: conjunctive filters on document fields, one sort field, a
//! page size. Each backend translates it (Cosmos SQL with parameters, SQLite JSON1), so domain
//! code never writes backend-specific query text.

use serde_json::Value;

use super::{StoreError, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    /// Case-insensitive substring of a string field.
    Contains,
    /// The array field holds the value.
    ArrayContains,
    /// The field equals one of the values of an array (a batch of point lookups in one query).
    In,
    /// The field is present (value ignored); with `Ne` semantics use `Missing`.
    Exists,
    Missing,
}

/// `field <cmp> value`; `field` is a dotted path of plain identifiers (`owner.id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: String,
    pub cmp: Cmp,
    pub value: Value,
}

impl Filter {
    pub fn new(field: impl Into<String>, cmp: Cmp, value: impl Into<Value>) -> Self {
        Self {
            field: field.into(),
            cmp,
            value: value.into(),
        }
    }
    pub fn eq(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(field, Cmp::Eq, value)
    }

    /// Evaluates the filter on a document in memory, with the semantics the backends' query
    /// translations have (used where a backend cannot express a condition on a write).
    pub fn matches(&self, doc: &Value) -> bool {
        let found = self.field.split('.').try_fold(doc, |v, part| v.get(part));
        let Some(actual) = found else {
            return matches!(self.cmp, Cmp::Missing | Cmp::Ne);
        };
        let ordering = || compare(actual, &self.value);
        match self.cmp {
            Cmp::Exists => true,
            Cmp::Missing => false,
            Cmp::In => self
                .value
                .as_array()
                .is_some_and(|values| values.contains(actual)),
            Cmp::Eq => actual == &self.value || ordering() == Some(std::cmp::Ordering::Equal),
            Cmp::Ne => !(actual == &self.value || ordering() == Some(std::cmp::Ordering::Equal)),
            Cmp::Lt => ordering() == Some(std::cmp::Ordering::Less),
            Cmp::Lte => matches!(
                ordering(),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            ),
            Cmp::Gt => ordering() == Some(std::cmp::Ordering::Greater),
            Cmp::Gte => matches!(
                ordering(),
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            ),
            Cmp::Contains => match (actual.as_str(), self.value.as_str()) {
                (Some(a), Some(b)) => a.to_lowercase().contains(&b.to_lowercase()),
                _ => false,
            },
            Cmp::ArrayContains => actual
                .as_array()
                .is_some_and(|items| items.contains(&self.value)),
        }
    }
}

/// Orders two JSON values of the same kind (numbers by value, strings by code point).
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// All must hold.
    pub filters: Vec<Filter>,
    pub order_by: Option<(String, Order)>,
    /// Page size, 1..=1000.
    pub limit: u32,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            order_by: None,
            limit: 100,
        }
    }
}

impl Query {
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }
    pub fn order_by(mut self, field: impl Into<String>, order: Order) -> Self {
        self.order_by = Some((field.into(), order));
        self
    }
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit.clamp(1, 1000);
        self
    }
}

/// See `Documents::query`: ordering applies within one partition only.
pub(crate) fn refuse_cross_partition_order(pk: Option<&str>, query: &Query) -> StoreResult<()> {
    if pk.is_none() && query.order_by.is_some() {
        return Err(StoreError::bug(
            "ordering is supported within one partition only",
        ));
    }
    Ok(())
}

/// Field paths are spliced into query text, so only identifiers are allowed.
pub(crate) fn field_path(field: &str) -> StoreResult<Vec<&str>> {
    let parts: Vec<&str> = field.split('.').collect();
    let ok = parts.iter().all(|p| {
        !p.is_empty()
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if ok {
        Ok(parts)
    } else {
        Err(StoreError::bug(format!("bad field name '{field}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_cannot_inject() {
        assert!(field_path("a.b_c").is_ok());
        assert!(field_path("a\"]) OR 1=1 --").is_err());
        assert!(field_path("").is_err());
        assert!(field_path("a..b").is_err());
        assert!(field_path("1a").is_err());
    }

    #[test]
    fn in_memory_matching() {
        let doc = serde_json::json!({"n": 3, "s": "Hello", "tags": ["a"], "o": {"x": 1}});
        assert!(Filter::new("n", Cmp::Lt, 10).matches(&doc));
        assert!(!Filter::new("n", Cmp::Gte, 4).matches(&doc));
        assert!(Filter::new("s", Cmp::Contains, "ell").matches(&doc));
        assert!(Filter::new("tags", Cmp::ArrayContains, "a").matches(&doc));
        assert!(Filter::eq("o.x", 1).matches(&doc));
        assert!(Filter::new("missing", Cmp::Missing, Value::Null).matches(&doc));
        assert!(Filter::new("missing", Cmp::Ne, 1).matches(&doc));
    }
}
