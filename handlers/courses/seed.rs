//! `handler seed [FILE]`: loads a course catalog (default `seed/courses.json`) into whichever
//! backend the settings select, so a new installation shows real courses after one command.
//! Courses keep the ids in the file, so seeding twice updates rather than duplicates.

use std::path::Path;

use chrono::Utc;
use serde::Deserialize;

use super::model::{CourseDoc, CourseInput, validate};
use super::store;
use crate::state::AppState;

#[derive(Deserialize)]
struct SeedCourse {
    id: String,
    #[serde(flatten)]
    input: CourseInput,
}

/// Loads the file; returns how many courses were written.
pub async fn run(state: &AppState, file: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let courses: Vec<SeedCourse> =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for seed in &courses {
        let valid = validate(seed.input.clone()).map_err(|errors| {
            anyhow::anyhow!("{}: course {}: {errors:?}", file.display(), seed.id)
        })?;
        crate::store::doc_id_ok(&seed.id)
            .map_err(|e| anyhow::anyhow!("course id {}: {e}", seed.id))?;
        let now = Utc::now();
        let course = match store::get(state, &seed.id).await? {
            Some(mut course) => {
                course.apply(valid);
                course.updated_at = now;
                course
            }
            None => CourseDoc::new(seed.id.clone(), valid, now),
        };
        store::upsert(state, &course).await?;
    }
    super::routes::invalidate(state).await;
    Ok(courses.len())
}
