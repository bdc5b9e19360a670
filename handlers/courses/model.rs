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
    /// An external picture URL.
    #[serde(default)]
    pub avatar: String,
    #[serde(default)]
    pub bio: String,
    /// A ready image asset of the course (public, as the catalog is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_file_id: Option<String>,
    /// In answers: the stable URL of `avatarFileId`. Ignored in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resource {
    pub title: String,
    /// An external http(s) link; in answers, the stable URL of `fileId` when that is set.
    #[serde(default)]
    pub url: String,
    /// `pdf`, `link` or `download`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A ready asset of the course, for enrolled learners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// An external video link; in answers, the stable URL of `videoFileId` when that is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// A ready video asset of the course (mp4 or webm), for enrolled learners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_file_id: Option<String>,
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
    /// An external picture URL.
    #[serde(default)]
    pub thumbnail: String,
    /// A ready image asset of the course, shown through `thumbnailUrl`.
    #[serde(default)]
    pub thumbnail_file_id: Option<String>,
    pub instructor: Instructor,
    pub level: String,
    pub lessons: Vec<Lesson>,
    /// The rating shown until learners rate the course.
    #[serde(default)]
    pub rating: Option<f64>,
    /// Minutes; without it, the sum of the lessons' durations.
    #[serde(default)]
    pub duration: Option<u32>,
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
    /// The seeded or admin-set rating, shown while no learner has rated.
    pub rating: f64,
    /// Lower-case title and description, so search is one portable filter.
    pub search_text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_file_id: Option<String>,
    /// The duration the author gave, if any (else `duration` is the lessons' sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_duration: Option<u32>,
    /// Enrollments that completed every lesson, kept by server-side increments.
    #[serde(default)]
    pub completed_count: i64,
    /// The learners' stars, summed, and how many learners rated.
    #[serde(default)]
    pub rating_total: i64,
    #[serde(default)]
    pub rating_count: i64,
    /// Who created it: a mentor edits and follows only their own courses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

crate::document!(CourseDoc, COURSES, id);

/// The stable media URL of a course asset, under `base` (this API's public URL, or "").
pub fn media_url(base: &str, course_id: &str, file_id: &str) -> String {
    format!("{base}/api/v1/courses/{course_id}/media/{file_id}")
}

/// A course in lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    pub category: CourseCategory,
    pub thumbnail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_file_id: Option<String>,
    /// The stable URL of `thumbnailFileId` (public: a 302 to the image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    pub instructor: Instructor,
    /// Minutes.
    pub duration: u32,
    pub level: CourseLevel,
    pub lesson_count: usize,
    pub enrolled_count: i64,
    /// The learners' mean stars (one decimal), or the seeded rating while none rated.
    pub rating: f64,
    #[serde(default)]
    pub rating_count: i64,
    /// Completed enrollments over enrollments, 0 to 1.
    #[serde(default)]
    pub completion_rate: f64,
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
    /// Where the caller's player stopped, in seconds (in `GET courses/{id}/lessons`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_seconds: Option<u32>,
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
    /// `base`: this API's public URL (or ""), for the media URLs.
    pub fn summary(&self, base: &str) -> CourseSummary {
        let url = |file_id: &String| media_url(base, &self.id, file_id);
        let mut instructor = self.instructor.clone();
        instructor.avatar_url = instructor.avatar_file_id.as_ref().map(url);
        let rating = if self.rating_count > 0 {
            (self.rating_total as f64 / self.rating_count as f64 * 10.0).round() / 10.0
        } else {
            self.rating
        };
        let completion_rate = if self.enrolled_count > 0 {
            (self.completed_count.max(0) as f64 / self.enrolled_count as f64).min(1.0)
        } else {
            0.0
        };
        CourseSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            category: self.category,
            thumbnail: self.thumbnail.clone(),
            thumbnail_file_id: self.thumbnail_file_id.clone(),
            thumbnail_url: self.thumbnail_file_id.as_ref().map(url),
            instructor,
            duration: self.duration,
            level: self.level,
            lesson_count: self.lessons.len(),
            enrolled_count: self.enrolled_count,
            rating,
            rating_count: self.rating_count,
            completion_rate,
        }
    }

    /// The outline; with the caller's enrollment, what they completed and where they stopped.
    pub fn outline(&self, mine: Option<&super::progress::Enrollment>) -> Vec<LessonOutline> {
        self.lessons
            .iter()
            .map(|l| LessonOutline {
                id: l.id.clone(),
                title: l.title.clone(),
                description: l.description.clone(),
                duration: l.duration,
                order: l.order,
                completed: mine.map(|e| e.completed_lessons.contains(&l.id)),
                position_seconds: mine.map(|e| e.position_of(&l.id)),
            })
            .collect()
    }

    /// A lesson as a learner opens it: asset references shown as their media URLs.
    pub fn lesson_view(&self, lesson: &Lesson, base: &str) -> Lesson {
        let mut lesson = lesson.clone();
        if let Some(file_id) = &lesson.video_file_id {
            lesson.video_url = Some(media_url(base, &self.id, file_id));
        }
        for resource in &mut lesson.resources {
            if let Some(file_id) = &resource.file_id {
                resource.url = media_url(base, &self.id, file_id);
            }
        }
        lesson
    }

    pub fn view(&self, base: &str) -> Course {
        Course {
            summary: self.summary(base),
            lessons: self.outline(None),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// Every asset the course references, with the kind of file each place takes and who may
    /// fetch it.
    pub fn asset_refs(&self) -> Vec<super::media::AssetRef> {
        super::media::collect_refs(
            self.thumbnail_file_id.as_deref(),
            &self.instructor,
            &self.lessons,
        )
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
            thumbnail_file_id: None,
            declared_duration: None,
            completed_count: 0,
            rating_total: 0,
            rating_count: 0,
            created_by: None,
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
        self.thumbnail_file_id = input.thumbnail_file_id.filter(|id| !id.is_empty());
        self.instructor = input.instructor;
        self.instructor.avatar_url = None;
        self.instructor.avatar_file_id = self
            .instructor
            .avatar_file_id
            .take()
            .filter(|id| !id.is_empty());
        self.level = level;
        self.declared_duration = input.duration;
        self.duration = input
            .duration
            .unwrap_or_else(|| lessons.iter().map(|l| l.duration).sum());
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
    if input.duration.is_some_and(|d| d > 100_000) {
        push(
            &mut errors,
            "duration",
            "Give the duration in minutes, at most 100000.",
        );
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
            let linked =
                resource.url.starts_with("https://") || resource.url.starts_with("http://");
            if resource.file_id.is_none() && !linked {
                push(
                    &mut errors,
                    format!("lessons[{i}].resources[{j}].url"),
                    "Use an http(s) URL, or a fileId of the course.",
                );
            }
        }
    }
    errors
}
