//! What a file is: its category (with the type allow-list and maximum size of DESIGN.md
//! section 5), the `files` document, and the shape the API answers with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MB: u64 = 1024 * 1024;

const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif"];
const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];
const VIDEOS: &[&str] = &["video/mp4", "video/webm", "video/quicktime"];
/// What a course asset may be (DESIGN.md section 5, course media): lesson videos, images for
/// thumbnails and instructors, and PDF resources.
const COURSE_VIDEOS: &[&str] = &["video/mp4", "video/webm"];
const COURSE_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/webp"];
const COURSE_DOCUMENTS: &[&str] = &["application/pdf"];

/// What a file is for; each category has its own types and maximum size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Avatar,
    Attachment,
    Form,
    Document,
    Video,
    Image,
    /// A course's media, uploaded by admins for one course.
    Course,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Avatar => "avatar",
            Category::Attachment => "attachment",
            Category::Form => "form",
            Category::Document => "document",
            Category::Video => "video",
            Category::Image => "image",
            Category::Course => "course",
        }
    }

    /// The largest file of this category and type (course assets differ by type).
    pub fn max_size(self, content_type: &str) -> u64 {
        match self {
            Category::Avatar => 2 * MB,
            Category::Image | Category::Attachment => 25 * MB,
            Category::Form => 10 * MB,
            Category::Document => 50 * MB,
            Category::Video => 500 * MB,
            Category::Course if COURSE_VIDEOS.contains(&content_type) => 500 * MB,
            Category::Course if COURSE_IMAGES.contains(&content_type) => 10 * MB,
            Category::Course => 50 * MB,
        }
    }

    pub fn allows(self, content_type: &str) -> bool {
        let lists: &[&[&str]] = match self {
            Category::Avatar | Category::Image => &[IMAGES],
            Category::Attachment => &[IMAGES, DOCUMENTS, VIDEOS],
            Category::Form | Category::Document => &[IMAGES, DOCUMENTS],
            Category::Video => &[VIDEOS],
            Category::Course => &[COURSE_VIDEOS, COURSE_IMAGES, COURSE_DOCUMENTS],
        };
        lists.iter().any(|list| list.contains(&content_type))
    }

    pub fn allowed(self) -> Vec<&'static str> {
        [IMAGES, DOCUMENTS, VIDEOS]
            .concat()
            .into_iter()
            .filter(|t| self.allows(t))
            .collect()
    }
}

/// Whether the thumbnail job can read this type.
pub fn is_image(content_type: &str) -> bool {
    IMAGES.contains(&content_type)
}

/// Whether a course may play this type as a lesson video.
pub fn is_video(content_type: &str) -> bool {
    VIDEOS.contains(&content_type)
}

/// A declared type as compared: lower case, parameters (`; charset=...`) dropped.
pub fn normalise_type(raw: &str) -> String {
    raw.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Unicode's format characters (general category Cf, as of Unicode 15.1): invisible, and
/// some reorder what is shown. U+202E makes `invoice\u{202E}fdp.exe` read as `invoiceexe.pdf`,
/// so a name keeps none of them. Listed by hand: no crate in the tree knows the categories.
const FORMAT_CHARACTERS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    // The bidirectional embeddings and overrides...
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    // ...and isolates.
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

fn is_format(c: char) -> bool {
    FORMAT_CHARACTERS
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

/// The last path part of a client's file name, without control or format characters (so no
/// bidirectional override disguises an extension) or characters that some file systems
/// refuse, at most 150 characters (keeping the extension), never empty.
pub fn safe_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_format(c))
        .map(|c| match c {
            ':' | '*' | '?' | '"' | '<' | '>' | '|' | '#' | '%' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').trim();
    let cleaned = if cleaned.is_empty() { "file" } else { cleaned };
    const MAX: usize = 150;
    if cleaned.chars().count() <= MAX {
        return cleaned.to_owned();
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if ext.chars().count() <= 10 => (stem, format!(".{ext}")),
        _ => (cleaned, String::new()),
    };
    let keep = MAX - ext.chars().count();
    format!("{}{ext}", stem.chars().take(keep).collect::<String>())
}

/// An ASCII-only rendering of a name for the quoted `filename=` of Content-Disposition.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `attachment` with both the ASCII and the UTF-8 (RFC 6266, RFC 8187) file name.
pub fn content_disposition(name: &str) -> String {
    disposition("attachment", name)
}

/// `inline`, for media a page shows or plays itself (course videos and images).
pub fn inline_disposition(name: &str) -> String {
    disposition("inline", name)
}

fn disposition(kind: &str, name: &str) -> String {
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{encoded}",
        ascii_name(name)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThumbnailStatus {
    /// Not an image: there will be no thumbnail.
    None,
    Pending,
    Ready,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThumbnailDoc {
    pub status: ThumbnailStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Who besides the owner may read a file: members of a conversation whose message references
/// it, or admins for a form that references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Grant {
    Conversation(String),
    Form(String),
}

/// The `files` document (partition key `/ownerId`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileDoc {
    pub id: String,
    pub owner_id: String,
    pub file_name: String,
    pub content_type: String,
    pub category: Category,
    /// The size the client announced; the stored blob may not exceed it.
    pub declared_size: u64,
    /// The stored size, once complete.
    #[serde(default)]
    pub size: u64,
    /// `pending` until `complete` accepts the upload, then `ready`.
    pub status: FileStatus,
    /// `{ownerId}/{fileId}/{safe name}` in the `files` blob container.
    pub blob: String,
    pub thumbnail: ThumbnailDoc,
    #[serde(default)]
    pub grants: Vec<Grant>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// The course a `course` asset belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_id: Option<String>,
    /// A block upload's staging blob (`uploads/{ownerId}/{fileId}`), which its upload URL may
    /// write until `complete` copies it to `blob`, which no URL can write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<String>,
}

crate::document!(FileDoc, FILES, owner_id);

/// Where an upload is: announced (`pending`) or accepted by `complete` (`ready`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Pending,
    Ready,
}

impl FileStatus {
    /// The stored string, for query filters.
    pub const fn as_str(self) -> &'static str {
        match self {
            FileStatus::Pending => "pending",
            FileStatus::Ready => "ready",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Thumbnail {
    pub status: ThumbnailStatus,
    /// A read URL, valid as long as `downloadUrl`, when the thumbnail is ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A file as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    pub id: String,
    pub owner_id: String,
    pub file_name: String,
    pub content_type: String,
    pub category: Category,
    pub size: u64,
    pub status: FileStatus,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The course of a `course` asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course_id: Option<String>,
    /// A short-lived read URL (15 minutes), once the file is ready.
    pub download_url: Option<String>,
    pub download_expires_at: Option<DateTime<Utc>>,
    pub thumbnail: Thumbnail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\me\\photo.jpg"), "photo.jpg");
        assert_eq!(safe_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name("   "), "file");
        assert_eq!(safe_name("what?.pdf"), "what_.pdf");
        assert_eq!(safe_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(
            safe_name("a\u{2066}b\u{2069}\u{200B}\u{FEFF}\u{E0041}.png"),
            "ab.png"
        );
        assert_eq!(safe_name("\u{202D}"), "file");
        let long = format!("{}.pdf", "x".repeat(400));
        let safe = safe_name(&long);
        assert_eq!(safe.chars().count(), 150);
        assert!(safe.ends_with(".pdf"));
    }

    #[test]
    fn categories_have_the_design_limits() {
        assert_eq!(Category::Avatar.max_size("image/png"), 2 * MB);
        assert_eq!(Category::Video.max_size("video/mp4"), 500 * MB);
        assert_eq!(Category::Course.max_size("video/webm"), 500 * MB);
        assert_eq!(Category::Course.max_size("image/webp"), 10 * MB);
        assert_eq!(Category::Course.max_size("application/pdf"), 50 * MB);
        assert!(Category::Course.allows("video/mp4"));
        assert!(!Category::Course.allows("video/quicktime"));
        assert!(!Category::Course.allows("image/gif"));
        assert!(Category::Avatar.allows("image/png"));
        assert!(!Category::Avatar.allows("application/pdf"));
        assert!(Category::Attachment.allows("application/pdf"));
        assert!(!Category::Video.allows("image/png"));
        assert_eq!(normalise_type(" Text/Plain; charset=utf-8"), "text/plain");
    }

    #[test]
    fn dispositions_carry_ascii_and_utf8_names() {
        assert_eq!(
            content_disposition("résumé 1.pdf"),
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201%2Epdf"
        );
    }
}
