//! Courses as stored and shown (the seed's model, with its summary fields at the top level as
//! the contract asks).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;

/// What a course is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CourseCategory {
    JobReadiness,
    Education,
    LifeSkills,
    Tech,
}

impl CourseCategory {
    pub const HINT: &str = "Use job-readiness, education, life-skills or tech.";

    pub const fn as_str(self) -> &'static str {
        match self {
            CourseCategory::JobReadiness => "job-readiness",
            CourseCategory::Education => "education",
            CourseCategory::LifeSkills => "life-skills",
            CourseCategory::Tech => "tech",
        }
    }

    /// Parses what a client sent (a string in bodies and queries, so that a bad value is a
    /// field error rather than a body error).
    pub fn parse(raw: &str) -> Option<Self> {
        [
            CourseCategory::JobReadiness,
            CourseCategory::Education,
            CourseCategory::LifeSkills,
            CourseCategory::Tech,
        ]
        .into_iter()
        .find(|c| c.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CourseLevel {
    Beginner,
    Intermediate,
    Advanced,
}

impl CourseLevel {
    pub const HINT: &str = "Use beginner, intermediate or advanced.";

    pub const fn as_str(self) -> &'static str {
        match self {
            CourseLevel::Beginner => "beginner",
            CourseLevel::Intermediate => "intermediate",
            CourseLevel::Advanced => "advanced",
        }
    }

    /// Parses what a client sent, as [`CourseCategory::parse`].
    pub fn parse(raw: &str) -> Option<Self> {
        [
            CourseLevel::Beginner,
            CourseLevel::Intermediate,
            CourseLevel::Advanced,
        ]
        .into_iter()
        .find(|l| l.as_str() == raw)
    }
}

const RESOURCE_TYPES: &[&str] = &["pdf", "link", "download"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instructor {
    pub name: String,
    #[serde(default)]
    pub avatar: String,
    #[serde(default)]
    pub bio: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    pub title: String,
    pub url: String,
    /// `pdf`, `link` or `download`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// Minutes.
    pub duration: u32,
    pub order: u32,
    /// Markdown.
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// What an admin sends to create a course (and, all optional, to change one).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CourseInput {
    pub title: String,
    pub description: String,
    pub category: String,
    #[serde(default)]
    pub thumbnail: String,
    pub instructor: Instructor,
    pub level: String,
    pub lessons: Vec<Lesson>,
    #[serde(default)]
    pub rating: Option<f64>,
}

/// The `courses` document (partition key `/id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseDoc {
    pub id: String,
    pub title: String,
    pub description: String,
    pub category: CourseCategory,
    pub thumbnail: String,
    pub instructor: Instructor,
    /// Minutes, the sum of the lessons'.
    pub duration: u32,
    pub level: CourseLevel,
    pub lessons: Vec<Lesson>,
    pub enrolled_count: i64,
    pub rating: f64,
    /// Lower-case title and description, so search is one portable filter.
    pub search_text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::document!(CourseDoc, COURSES, id);

/// A course in lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub category: CourseCategory,
    pub thumbnail: String,
    pub instructor: Instructor,
    pub duration: u32,
    pub level: CourseLevel,
    pub lesson_count: usize,
    pub enrolled_count: i64,
    pub rating: f64,
}

/// One lesson in an outline: no content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonOutline {
    pub id: String,
    pub title: String,
    pub description: String,
    pub duration: u32,
    pub order: u32,
    /// For the caller, in `GET courses/{id}/lessons`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
}

/// A course with its outline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    #[serde(flatten)]
    pub summary: CourseSummary,
    pub lessons: Vec<LessonOutline>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CourseDoc {
    pub fn summary(&self) -> CourseSummary {
        CourseSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category,
            thumbnail: self.thumbnail.clone(),
            instructor: self.instructor.clone(),
            duration: self.duration,
            level: self.level,
            lesson_count: self.lessons.len(),
            enrolled_count: self.enrolled_count,
            rating: self.rating,
        }
    }

    pub fn outline(&self, completed: Option<&[String]>) -> Vec<LessonOutline> {
        self.lessons
            .iter()
            .map(|l| LessonOutline {
                id: l.id.clone(),
                title: l.title.clone(),
                description: l.description.clone(),
                duration: l.duration,
                order: l.order,
                completed: completed.map(|done| done.contains(&l.id)),
            })
            .collect()
    }

    pub fn view(&self) -> Course {
        Course {
            summary: self.summary(),
            lessons: self.outline(None),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// A new course from validated input.
    pub fn new(id: String, course: ValidCourse, now: DateTime<Utc>) -> Self {
        let mut doc = CourseDoc {
            id,
            title: String::new(),
            description: String::new(),
            category: course.category,
            thumbnail: String::new(),
            instructor: course.input.instructor.clone(),
            duration: 0,
            level: course.level,
            lessons: Vec::new(),
            enrolled_count: 0,
            rating: 0.0,
            search_text: String::new(),
            created_at: now,
            updated_at: now,
        };
        doc.apply(course);
        doc
    }

    /// Applies validated input (lessons ordered by `order`, duration and search text derived).
    pub fn apply(&mut self, course: ValidCourse) {
        let ValidCourse {
            input,
            category,
            level,
        } = course;
        let mut lessons = input.lessons;
        lessons.sort_by_key(|l| l.order);
        self.title = input.title.trim().to_owned();
        self.description = input.description.trim().to_owned();
        self.category = category;
        self.thumbnail = input.thumbnail;
        self.instructor = input.instructor;
        self.level = level;
        self.duration = lessons.iter().map(|l| l.duration).sum();
        self.lessons = lessons;
        if let Some(rating) = input.rating {
            self.rating = rating;
        }
        self.search_text = format!("{} {}", self.title, self.description).to_lowercase();
    }
}

/// Course input that passed [`validate`], with its category and level parsed.
#[derive(Debug, Clone)]
pub struct ValidCourse {
    input: CourseInput,
    category: CourseCategory,
    level: CourseLevel,
}

fn push(errors: &mut FieldErrors, field: impl Into<String>, message: &str) {
    errors
        .entry(field.into())
        .or_default()
        .push(message.to_owned());
}

/// The course, or its field errors.
pub fn validate(input: CourseInput) -> Result<ValidCourse, FieldErrors> {
    let errors = field_errors(&input);
    match (
        CourseCategory::parse(&input.category),
        CourseLevel::parse(&input.level),
    ) {
        (Some(category), Some(level)) if errors.is_empty() => Ok(ValidCourse {
            input,
            category,
            level,
        }),
        _ => Err(errors),
    }
}

fn field_errors(input: &CourseInput) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        push(
            &mut errors,
            "title",
            "Enter a title of 1 to 200 characters.",
        );
    }
    if input.description.chars().count() > 5000 {
        push(
            &mut errors,
            "description",
            "Keep the description under 5000 characters.",
        );
    }
    if CourseCategory::parse(&input.category).is_none() {
        push(&mut errors, "category", CourseCategory::HINT);
    }
    if CourseLevel::parse(&input.level).is_none() {
        push(&mut errors, "level", CourseLevel::HINT);
    }
    if input.instructor.name.trim().is_empty() {
        push(&mut errors, "instructor.name", "Name the instructor.");
    }
    if input.rating.is_some_and(|r| !(0.0..=5.0).contains(&r)) {
        push(&mut errors, "rating", "Use a rating from 0 to 5.");
    }
    if input.lessons.is_empty() {
        push(&mut errors, "lessons", "Add at least one lesson.");
    }
    let mut ids = std::collections::HashSet::new();
    let mut orders = std::collections::HashSet::new();
    for (i, lesson) in input.lessons.iter().enumerate() {
        let at = |f: &str| format!("lessons[{i}].{f}");
        if crate::store::doc_id_ok(&lesson.id).is_err() || !ids.insert(lesson.id.as_str()) {
            push(
                &mut errors,
                at("id"),
                "Give each lesson a unique id without / \\ ? #.",
            );
        }
        if !orders.insert(lesson.order) {
            push(&mut errors, at("order"), "Each lesson needs its own order.");
        }
        if lesson.title.trim().is_empty() {
            push(&mut errors, at("title"), "Enter a title.");
        }
        for (j, resource) in lesson.resources.iter().enumerate() {
            if !RESOURCE_TYPES.contains(&resource.kind.as_str()) {
                push(
                    &mut errors,
                    format!("lessons[{i}].resources[{j}].type"),
                    "Use pdf, link or download.",
                );
            }
            if !(resource.url.starts_with("https://") || resource.url.starts_with("http://")) {
                push(
                    &mut errors,
                    format!("lessons[{i}].resources[{j}].url"),
                    "Use an http(s) URL.",
                );
            }
        }
    }
    errors
}
