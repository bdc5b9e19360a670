//! Translates the portable query shape (`store::query`) into Cosmos DB SQL with parameters.

use serde_json::Value;

use crate::store::StoreResult;
use crate::store::query::{Cmp, Filter, field_path};

/// Cosmos SQL: `c["a"]["b"]`.
pub(super) fn cosmos_field(field: &str) -> StoreResult<String> {
    Ok(field_path(field)?
        .iter()
        .fold(String::from("c"), |acc, p| format!("{acc}[\"{p}\"]")))
}

/// Translates filters into a Cosmos SQL condition, adding `@pN` parameters to `params`.
pub(super) fn cosmos_condition(
    filters: &[Filter],
    params: &mut Vec<(String, Value)>,
) -> StoreResult<Vec<String>> {
    filters
        .iter()
        .map(|f| {
            let field = cosmos_field(&f.field)?;
            let name = format!("@p{}", params.len());
            let clause = match f.cmp {
                Cmp::Exists => return Ok(format!("IS_DEFINED({field})")),
                Cmp::Missing => return Ok(format!("NOT IS_DEFINED({field})")),
                Cmp::Eq => format!("{field} = {name}"),
                Cmp::Ne => format!("({field} != {name} OR NOT IS_DEFINED({field}))"),
                Cmp::Lt => format!("{field} < {name}"),
                Cmp::Lte => format!("{field} <= {name}"),
                Cmp::Gt => format!("{field} > {name}"),
                Cmp::Gte => format!("{field} >= {name}"),
                // LOWER on both sides rather than CONTAINS' third argument: emulators lack it.
                Cmp::Contains => {
                    let needle = f.value.as_str().unwrap_or_default().to_lowercase();
                    params.push((name.clone(), Value::from(needle)));
                    return Ok(format!("CONTAINS(LOWER({field}), {name})"));
                }
                Cmp::ArrayContains => format!("ARRAY_CONTAINS({field}, {name})"),
                Cmp::In => format!("ARRAY_CONTAINS({name}, {field})"),
            };
            params.push((name, f.value.clone()));
            Ok(clause)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosmos_translation_is_parameterised() {
        let mut params = Vec::new();
        let clauses = cosmos_condition(
            &[
                Filter::eq("owner.id", "u1"),
                Filter::new("name", Cmp::Contains, "x"),
            ],
            &mut params,
        )
        .unwrap();
        assert_eq!(
            clauses,
            vec![
                "c[\"owner\"][\"id\"] = @p0".to_string(),
                "CONTAINS(LOWER(c[\"name\"]), @p1)".to_string()
            ]
        );
        assert_eq!(params.len(), 2);
    }
}
