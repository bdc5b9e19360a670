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

pub const USERS: ContainerSpec = c("users", "/id", false);
pub const EMAILS: ContainerSpec = c("emails", "/id", false);
pub const SESSIONS: ContainerSpec = c("sessions", "/userId", true);
pub const TOKENS: ContainerSpec = c("tokens", "/id", true);
pub const INVITES: ContainerSpec = c("invites", "/id", true);
pub const COURSES: ContainerSpec = c("courses", "/id", false);
pub const PROGRESS: ContainerSpec = c("progress", "/userId", false);
pub const FORMS: ContainerSpec = c("forms", "/id", false);
pub const FILES: ContainerSpec = c("files", "/ownerId", true);
pub const SHARES: ContainerSpec = c("shares", "/id", true);
pub const CONVERSATIONS: ContainerSpec = c("conversations", "/id", false);
pub const MEMBERSHIPS: ContainerSpec = c("memberships", "/userId", false);
pub const MESSAGES: ContainerSpec = c("messages", "/conversationId", true);
pub const KEYS: ContainerSpec = c("keys", "/conversationId", false);
pub const ACTIVITY: ContainerSpec = c("activity", "/userId", true);
pub const AUDIT: ContainerSpec = c("audit", "/day", true);
pub const JOBS: ContainerSpec = c("jobs", "/id", true);
pub const METRICS: ContainerSpec = c("metrics", "/metric", false);
pub const OUTBOX: ContainerSpec = c("outbox", "/id", true);
pub const NOTIFICATIONS: ContainerSpec = c("notifications", "/userId", true);

/// Every container, in the order backups and the infrastructure list them.
pub const CONTAINERS: &[ContainerSpec] = &[
    USERS,
    EMAILS,
    SESSIONS,
    TOKENS,
    INVITES,
    COURSES,
    PROGRESS,
    FORMS,
    FILES,
    SHARES,
    CONVERSATIONS,
    MEMBERSHIPS,
    MESSAGES,
    KEYS,
    ACTIVITY,
    AUDIT,
    JOBS,
    METRICS,
    OUTBOX,
    NOTIFICATIONS,
];

pub fn container(name: &str) -> Option<&'static ContainerSpec> {
    CONTAINERS.iter().find(|c| c.name == name)
}

/// Blob containers the code writes to.
pub const BLOB_CONTAINERS: &[&str] = &["files", "thumbnails", "archives", "backups"];

/// Queues the code sends to; each has a `-poison` twin the host moves failed messages to.
pub const QUEUES: &[&str] = &["thumbnails", "emails", "erasures"];
