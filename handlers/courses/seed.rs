//! `handler seed [FILE]`: loads a course catalog (default `seed/courses.json`) into whichever
//! backend the settings select, so a new installation shows real courses after one command.
//! Courses keep the ids in the file, so seeding twice updates rather than duplicates.

use std::path::Path;

use chrono::Utc;
use serde::Deserialize;

use super::model::{CourseDoc, CourseInput, validate};
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
    let docs = &state.stores.documents;
    for seed in &courses {
        let errors = validate(&seed.input);
        if !errors.is_empty() {
            anyhow::bail!("{}: course {}: {errors:?}", file.display(), seed.id);
        }
        crate::store::doc_id_ok(&seed.id)
            .map_err(|e| anyhow::anyhow!("course id {}: {e}", seed.id))?;
        let existing: Option<CourseDoc> = docs
            .get("courses", &seed.id, &seed.id)
            .await?
            .map(|d| serde_json::from_value(d.value))
            .transpose()?;
        let now = Utc::now();
        let mut course = existing.unwrap_or_else(|| CourseDoc {
            id: seed.id.clone(),
            title: String::new(),
            description: String::new(),
            category: String::new(),
            thumbnail: String::new(),
            instructor: seed.input.instructor.clone(),
            duration: 0,
            level: String::new(),
            lessons: Vec::new(),
            enrolled_count: 0,
            rating: 0.0,
            search_text: String::new(),
            created_at: now,
            updated_at: now,
        });
        course.apply(seed.input.clone());
        course.updated_at = now;
        docs.upsert("courses", &course.id, serde_json::to_value(&course)?)
            .await?;
    }
    super::routes::invalidate(state).await;
    Ok(courses.len())
}
