//! Rules every document backend applies the same way: a document is a JSON object with a
//! string `id`, its partition key field equals the partition it is written to, and an optional
//! positive `ttl` makes it expire `ttl` seconds after its last write.

use serde_json::Value;

use super::schema::{self, ContainerSpec};
use super::{BadInput, PatchOp, StoreError, StoreResult};

pub(crate) fn spec(container: &str) -> StoreResult<&'static ContainerSpec> {
    schema::container(container)
        .ok_or_else(|| StoreError::bug(format!("unknown container '{container}'")))
}

/// The partition key field name (`userId` for `/userId`).
pub(crate) fn pk_field(spec: &ContainerSpec) -> &'static str {
    spec.partition_key.trim_start_matches('/')
}

/// Checks a document before a write and returns its id.
pub(crate) fn check(spec: &ContainerSpec, pk: &str, doc: &Value) -> StoreResult<String> {
    let obj = doc
        .as_object()
        .ok_or_else(|| StoreError::bug("a document must be a JSON object"))?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::bug("a document needs a string id"))?;
    check_id(id)?;
    let field = pk_field(spec);
    if obj.get(field).and_then(Value::as_str) != Some(pk) {
        return Err(StoreError::bug(format!(
            "the document's {field} must equal its partition key"
        )));
    }
    Ok(id.to_owned())
}

/// Cosmos DB forbids these characters in ids; the embedded store forbids the same so that
/// data moves between them.
pub(crate) fn check_id(id: &str) -> StoreResult<()> {
    if id.is_empty() || id.len() > 255 || id.contains(['/', '\\', '?', '#']) {
        return Err(StoreError::BadInput(BadInput::Id));
    }
    Ok(())
}

/// Seconds until the document expires, when it has a positive `ttl`.
pub(crate) fn ttl_seconds(doc: &Value) -> Option<i64> {
    doc.get("ttl").and_then(Value::as_i64).filter(|t| *t > 0)
}

/// Whether a stored document (with `_ts`) has outlived its `ttl` at `now` (unix seconds).
pub(crate) fn is_expired(doc: &Value, now: i64) -> bool {
    match (ttl_seconds(doc), doc.get("_ts").and_then(Value::as_i64)) {
        (Some(ttl), Some(ts)) => ts + ttl <= now,
        _ => false,
    }
}

/// Applies patch operations to a document in place (the embedded store's patch; Cosmos DB
/// applies the same operations server-side).
pub(crate) fn apply_patch(doc: &mut Value, ops: &[PatchOp]) -> StoreResult<()> {
    for op in ops {
        match op {
            PatchOp::Set(path, value) => *slot(doc, path)? = value.clone(),
            PatchOp::Incr(path, by) => {
                let target = slot(doc, path)?;
                let current = match target {
                    Value::Null => 0,
                    Value::Number(n) => n
                        .as_i64()
                        .ok_or_else(|| StoreError::bug(format!("{path} is not an integer")))?,
                    _ => return Err(StoreError::bug(format!("{path} is not a number"))),
                };
                *target = Value::from(current + by);
            }
            PatchOp::Remove(path) => {
                let (parent, last) = parent_of(doc, path)?;
                if let Some(obj) = parent.as_object_mut() {
                    obj.remove(last);
                }
            }
        }
    }
    Ok(())
}

fn segments(path: &str) -> StoreResult<Vec<&str>> {
    let segs: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    if segs.iter().any(|s| s.is_empty()) || matches!(segs.first(), Some(&"id")) {
        return Err(StoreError::bug(format!("bad patch path '{path}'")));
    }
    Ok(segs)
}

fn parent_of<'a>(doc: &'a mut Value, path: &'a str) -> StoreResult<(&'a mut Value, &'a str)> {
    let segs = segments(path)?;
    let (last, init) = segs.split_last().expect("segments is never empty");
    let mut cur = doc;
    for seg in init {
        cur = cur
            .as_object_mut()
            .ok_or_else(|| StoreError::bug(format!("{path} crosses a non-object")))?
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    Ok((cur, last))
}

fn slot<'a>(doc: &'a mut Value, path: &'a str) -> StoreResult<&'a mut Value> {
    let (parent, last) = parent_of(doc, path)?;
    Ok(parent
        .as_object_mut()
        .ok_or_else(|| StoreError::bug(format!("{path} crosses a non-object")))?
        .entry(last.to_string())
        .or_insert(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_sets_increments_and_removes() {
        let mut doc = json!({"id": "a", "n": 1, "gone": true});
        apply_patch(
            &mut doc,
            &[
                PatchOp::Incr("/n".into(), 2),
                PatchOp::Incr("/fresh".into(), 5),
                PatchOp::Set("/nested/x".into(), json!("y")),
                PatchOp::Remove("/gone".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"id": "a", "n": 3, "fresh": 5, "nested": {"x": "y"}})
        );
        assert!(apply_patch(&mut doc, &[PatchOp::Set("/id".into(), json!("b"))]).is_err());
    }

    #[test]
    fn expiry_counts_from_last_write() {
        let doc = json!({"id": "a", "ttl": 10, "_ts": 100});
        assert!(!is_expired(&doc, 109));
        assert!(is_expired(&doc, 110));
        assert!(!is_expired(
            &json!({"id": "a", "ttl": -1, "_ts": 0}),
            1_000_000
        ));
    }
}
