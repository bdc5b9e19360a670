//! Reading and writing users. The `emails` container (id = normalised email) is written first,
//! so two sign-ups with one email race on a single id and exactly one wins, across partitions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::activity::Activity;
use super::model::{Email, UserDoc};
use crate::error::{ApiError, ApiResult, Code};
use crate::state::AppState;
use crate::store::{Change, Cmp, Collection, Document, Filter, Order, Page, PatchOp, Query};

/// Claims an email for one user (`emails` container, id = the normalised email).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailLink {
    id: String,
    user_id: String,
}

crate::document!(EmailLink, EMAILS, id);

/// A security event as stored (`activity`, partition `/userId`), kept a year.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActivityDoc {
    id: String,
    user_id: String,
    #[serde(rename = "type")]
    kind: String,
    ip: String,
    user_agent: String,
    at: DateTime<Utc>,
    ttl: i64,
}

crate::document!(ActivityDoc, ACTIVITY, user_id);

const ACTIVITY_KEPT_SECONDS: i64 = 365 * 24 * 3600;

/// Another domain's document, as far as GDPR export and erase see it: found by the user's
/// partition (`progress`) or one field (`forms`), exported as stored, deleted whole. Their own
/// fields stay their domain's business, so they are carried along untyped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEntry {
    id: String,
    user_id: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

crate::document!(ProgressEntry, PROGRESS, user_id);

/// See [`ProgressEntry`]; a form submission is partitioned by its own id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormEntry {
    id: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

crate::document!(FormEntry, FORMS, id);

fn users(state: &AppState) -> Collection<UserDoc> {
    state.stores.collection()
}

fn emails(state: &AppState) -> Collection<EmailLink> {
    state.stores.collection()
}

fn activity(state: &AppState) -> Collection<ActivityDoc> {
    state.stores.collection()
}

pub async fn get(state: &AppState, id: &str) -> ApiResult<Option<UserDoc>> {
    Ok(users(state).get(id, id).await?)
}

/// The users with these ids that exist, in one query (ids in batches of 100).
pub async fn get_many(state: &AppState, ids: &[String]) -> ApiResult<Vec<UserDoc>> {
    let mut found = Vec::with_capacity(ids.len());
    for batch in ids.chunks(100) {
        let query = Query::default()
            .filter(Filter::new("id", Cmp::In, serde_json::json!(batch)))
            .limit(100);
        found.extend(users(state).query_all(None, &query).await?);
    }
    Ok(found)
}

/// A page of active, discoverable users whose name contains `needle` (lower case).
pub async fn directory_page(
    state: &AppState,
    needle: &str,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<Page<UserDoc>> {
    let query = Query::default()
        .filter(Filter::new("name", Cmp::Contains, needle))
        .filter(Filter::eq("status", "active"))
        // Users stored before the setting existed have no field: discoverable by default.
        .filter(Filter::new("preferences.discoverable", Cmp::Ne, false))
        .limit(limit);
    Ok(users(state).query(None, &query, cursor).await?)
}

/// Whether the stored user is an active admin: rights are decided from the stored role at the
/// moment of use, since a token outlives a demotion.
pub async fn is_active_admin(state: &AppState, id: &str) -> ApiResult<bool> {
    Ok(get(state, id).await?.is_some_and(|u| u.is_active_admin()))
}

/// How many active admins there are, counted up to `at_most`.
pub async fn active_admins(state: &AppState, at_most: u32) -> ApiResult<usize> {
    let query = Query::default()
        .filter(Filter::eq("role", "admin"))
        .filter(Filter::eq("status", "active"))
        .limit(at_most);
    Ok(users(state).query(None, &query, None).await?.items.len())
}

/// The ids of the users who blocked `user_id`.
pub async fn blockers_of(state: &AppState, user_id: &str) -> ApiResult<Vec<String>> {
    let query = Query::default()
        .filter(Filter::new("blockedIds", Cmp::ArrayContains, user_id))
        .limit(500);
    Ok(users(state)
        .query_all(None, &query)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect())
}

/// The account an OpenID Connect identity (`LinkedIdentity::key`) is linked to.
pub async fn find_by_identity(state: &AppState, key: &str) -> ApiResult<Option<UserDoc>> {
    let query = Query::default()
        .filter(Filter::new("identityKeys", Cmp::ArrayContains, key))
        .limit(1);
    Ok(users(state)
        .query(None, &query, None)
        .await?
        .items
        .into_iter()
        .next())
}

/// Active users whose `preferences.emailUpdates` is on (the digest job's candidates).
pub async fn with_email_updates(state: &AppState) -> ApiResult<Vec<UserDoc>> {
    let query = Query::default()
        .filter(Filter::eq("preferences.emailUpdates", true))
        .filter(Filter::eq("status", "active"))
        .limit(500);
    Ok(users(state).query_all(None, &query).await?)
}

pub async fn find_by_email(state: &AppState, email: &Email) -> ApiResult<Option<UserDoc>> {
    let Some(link) = emails(state).get(email.as_str(), email.as_str()).await? else {
        return Ok(None);
    };
    get(state, &link.user_id).await
}

/// Creates the user; `EMAIL_TAKEN` when the email is in use.
pub async fn create(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    let mut user = user.clone();
    user.refresh_search_text();
    let link = EmailLink {
        id: user.email.clone(),
        user_id: user.id.clone(),
    };
    if !emails(state).create_if_absent(&link).await? {
        return Err(ApiError::new(
            Code::EmailTaken,
            "An account with this email already exists.",
        ));
    }
    if let Err(e) = users(state).create(&user).await {
        // Free the email again rather than leave it claimed by nobody.
        let _ = emails(state).remove(&link.id, &link.id).await;
        return Err(e.into());
    }
    Ok(())
}

/// Applies `change` to the stored user with optimistic concurrency (re-read on conflict).
pub async fn update(
    state: &AppState,
    id: &str,
    mut change: impl FnMut(&mut UserDoc),
) -> ApiResult<UserDoc> {
    let updated = users(state)
        .update_with(id, id, |user| {
            change(user);
            user.updated_at = chrono::Utc::now();
            user.refresh_search_text();
            Ok::<_, ApiError>(Change::Write(()))
        })
        .await?;
    updated
        .map(|(user, ())| user)
        .ok_or_else(|| ApiError::not_found("No such user."))
}

/// Moves the account to `new` (verified when a link to it proved it): the new address is claimed first (409 `EMAIL_TAKEN`
/// when another account has it), then the user, then the old claim is released.
pub async fn change_email(
    state: &AppState,
    user: &UserDoc,
    new: &Email,
    verified: bool,
) -> ApiResult<UserDoc> {
    let link = EmailLink {
        id: new.as_str().to_owned(),
        user_id: user.id.clone(),
    };
    if !emails(state).create_if_absent(&link).await? {
        let ours = emails(state)
            .get(&link.id, &link.id)
            .await?
            .is_some_and(|l| l.user_id == user.id);
        if !ours {
            return Err(ApiError::new(
                Code::EmailTaken,
                "Another account has this email address now.",
            ));
        }
    }
    let old = user.clone();
    let changed = update(state, &user.id, |u| {
        u.email = new.as_str().to_owned();
        u.email_verified = verified;
        u.pending_email = None;
    })
    .await?;
    if old.email != changed.email {
        release_email(state, &old).await?;
    }
    Ok(changed)
}

/// Stamps the sign-in time. A patch, not a read-modify-write: simultaneous sign-ins to one
/// account never conflict.
pub async fn stamp_login(state: &AppState, id: &str, at: DateTime<Utc>) -> ApiResult<()> {
    let stamp = PatchOp::Set("/lastLoginAt".into(), serde_json::json!(at));
    users(state).patch(id, id, &[stamp], None).await?;
    Ok(())
}

/// Records when the user's last realtime connection closed (one patch).
pub async fn stamp_last_seen(state: &AppState, id: &str, at: DateTime<Utc>) -> ApiResult<()> {
    let set = [PatchOp::Set("/lastSeenAt".into(), serde_json::json!(at))];
    match users(state).patch(id, id, &set, None).await {
        Ok(_) | Err(crate::store::StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Records the end of a lockout on the account (see `UserDoc::locked_until`).
pub async fn lock_until(state: &AppState, id: &str, until: DateTime<Utc>) -> ApiResult<()> {
    let lock = PatchOp::Set("/lockedUntil".into(), serde_json::json!(until));
    users(state).patch(id, id, &[lock], None).await?;
    Ok(())
}

/// A page of users whose email or name contains `search` (lower-case), across partitions, so
/// in the store's own order (see `Documents::query`).
pub async fn page(
    state: &AppState,
    search: Option<&str>,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<Page<UserDoc>> {
    let mut query = Query::default().limit(limit);
    if let Some(search) = search {
        query = query.filter(Filter::new("searchText", Cmp::Contains, search));
    }
    Ok(users(state).query(None, &query, cursor).await?)
}

/// Frees the user's email: deletes its claim if it is still this user's. A claim a newer
/// account made on the address (after an erase freed it) stays. A claim changes owner only
/// after it is deleted, and only the erase of its owner deletes it, so the read-then-delete
/// cannot take a newer account's claim unless two erases of one account overlap.
pub async fn release_email(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    let claims = emails(state);
    if let Some(link) = claims.get(&user.email, &user.email).await?
        && link.user_id == user.id
    {
        claims.remove(&user.email, &user.email).await?;
    }
    Ok(())
}

/// Deletes the account itself: the email claim (if still its own), then the user.
pub async fn remove(state: &AppState, user: &UserDoc) -> ApiResult<()> {
    release_email(state, user).await?;
    users(state).remove(&user.id, &user.id).await?;
    Ok(())
}

pub async fn record_activity(state: &AppState, entry: &Activity) -> ApiResult<()> {
    let doc = ActivityDoc {
        id: entry.id.clone(),
        user_id: entry.user_id.clone(),
        kind: entry.kind.clone(),
        ip: entry.ip.clone(),
        user_agent: entry.user_agent.clone(),
        at: entry.at,
        ttl: ACTIVITY_KEPT_SECONDS,
    };
    activity(state).create(&doc).await?;
    Ok(())
}

impl From<ActivityDoc> for Activity {
    fn from(doc: ActivityDoc) -> Self {
        Activity {
            id: doc.id,
            user_id: doc.user_id,
            kind: doc.kind,
            ip: doc.ip,
            user_agent: doc.user_agent,
            at: doc.at,
        }
    }
}

/// A page of the user's activity, newest first (ids are time-ordered).
pub async fn activity_page(
    state: &AppState,
    user_id: &str,
    limit: u32,
    cursor: Option<&str>,
) -> ApiResult<Page<Activity>> {
    let query = Query::default().order_by("id", Order::Desc).limit(limit);
    let page = activity(state).query(Some(user_id), &query, cursor).await?;
    Ok(Page {
        items: page.items.into_iter().map(Activity::from).collect(),
        continuation: page.continuation,
    })
}

/// Every activity entry of the user, for the data export.
pub async fn all_activity(state: &AppState, user_id: &str) -> ApiResult<Vec<Activity>> {
    let query = Query::default().limit(500);
    let docs = activity(state).query_all(Some(user_id), &query).await?;
    Ok(docs.into_iter().map(Activity::from).collect())
}

pub async fn erase_activity(state: &AppState, user_id: &str) -> ApiResult<u64> {
    remove_matching(&activity(state), Some(user_id), Query::default()).await
}

pub async fn all_progress(state: &AppState, user_id: &str) -> ApiResult<Vec<ProgressEntry>> {
    let query = Query::default().limit(500);
    Ok(state
        .stores
        .collection()
        .query_all(Some(user_id), &query)
        .await?)
}

pub async fn erase_progress(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let progress: Collection<ProgressEntry> = state.stores.collection();
    remove_matching(&progress, Some(user_id), Query::default()).await
}

/// The queries that find the user's form submissions: those sent signed in as the user, and
/// those sent with the account's email only once that email is verified. Anyone can sign up
/// with someone else's address; an unproven one must not reach that person's forms.
fn form_queries(user: &UserDoc) -> Vec<Query> {
    let mut queries = vec![Query::default().filter(Filter::eq("userId", user.id.as_str()))];
    if user.email_verified {
        queries.push(Query::default().filter(Filter::eq("email", user.email.as_str())));
    }
    queries
}

/// The user's form submissions (see [`form_queries`]), each once.
pub async fn forms_of(state: &AppState, user: &UserDoc) -> ApiResult<Vec<FormEntry>> {
    let forms: Collection<FormEntry> = state.stores.collection();
    let mut out: Vec<FormEntry> = Vec::new();
    for query in form_queries(user) {
        for form in forms.query_all(None, &query.limit(500)).await? {
            if !out.iter().any(|f| f.id == form.id) {
                out.push(form);
            }
        }
    }
    Ok(out)
}

pub async fn erase_forms(state: &AppState, user: &UserDoc) -> ApiResult<u64> {
    let forms: Collection<FormEntry> = state.stores.collection();
    let mut removed = 0;
    for query in form_queries(user) {
        removed += remove_matching(&forms, None, query).await?;
    }
    Ok(removed)
}

/// Deletes every document `query` finds in `pk` (or across partitions); returns how many.
/// Deleting while paging would shift the pages: it reads a page, deletes it, reads again.
pub async fn remove_matching<T: Document>(
    collection: &Collection<T>,
    pk: Option<&str>,
    query: Query,
) -> ApiResult<u64> {
    let query = query.limit(500);
    let mut removed = 0;
    loop {
        let page = collection.query(pk, &query, None).await?;
        if page.items.is_empty() {
            return Ok(removed);
        }
        for doc in page.items {
            collection.remove(doc.partition_key(), doc.id()).await?;
            removed += 1;
        }
    }
}
