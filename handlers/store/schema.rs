//! The storage layout every backend and the infrastructure share (DESIGN.md section 3): document
//! containers with their partition key, blob containers and queues.

/// A document container and the document field its partition key is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: &'static str,
    /// Partition key path as Cosmos DB declares it (`/userId`).
    pub partition_key: &'static str,
    /// Whether items may carry a `ttl` (the container's default TTL is then -1: on, no default).
    pub ttl: bool,
}

const fn c(name: &'static str, partition_key: &'static str, ttl: bool) -> ContainerSpec {
    ContainerSpec {
        name,
        partition_key,
        ttl,
    }
}

pub const CONTAINERS: &[ContainerSpec] = &[
    c("users", "/id", false),
    c("emails", "/id", false),
    c("sessions", "/userId", true),
    c("tokens", "/id", true),
    c("invites", "/id", true),
    c("courses", "/id", false),
    c("progress", "/userId", false),
    c("forms", "/id", false),
    c("files", "/ownerId", true),
    c("shares", "/id", true),
    c("conversations", "/id", false),
    c("memberships", "/userId", false),
    c("messages", "/conversationId", true),
    c("keys", "/conversationId", false),
    c("activity", "/userId", true),
    c("audit", "/day", true),
    c("jobs", "/id", true),
    c("metrics", "/metric", false),
];

pub fn container(name: &str) -> Option<&'static ContainerSpec> {
    CONTAINERS.iter().find(|c| c.name == name)
}

/// Blob containers the code writes to.
pub const BLOB_CONTAINERS: &[&str] = &["files", "thumbnails", "archives", "backups"];

/// Queues the code sends to; each has a `-poison` twin the host moves failed messages to.
pub const QUEUES: &[&str] = &["thumbnails", "emails", "erasures"];
