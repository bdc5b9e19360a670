//! `/api/v1/forms/*`.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::model::{
    self, AuditEntry, Contact, Extras, FormStatus, FormType, Interest, Referral, Submission,
    SubmissionMeta,
};
use super::store;
use crate::auth::extract::{AdminUser, AuthUser, ClientIp, UserAgent};
use crate::email::{self, Email as Mail};
use crate::error::{ApiError, ApiResult, AppJson, Code, FieldErrors, Problem};
use crate::state::AppState;
use crate::store::{Cmp, Filter, Query as StoreQuery};
use crate::users::model::Role;

const HOUR: Duration = Duration::from_secs(3600);
/// Rows an export holds at most; narrow the dates for more.
const EXPORT_MAX: usize = 10_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    pub id: String,
    /// Always `pending`.
    pub status: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Review {
    /// `pending`, `reviewed` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// A user id, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    pub assigned_to: Option<Option<String>>,
}

/// Tells "absent" from "null" for fields that can be cleared.
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `contact`, `interest` or `referral`.
    #[serde(rename = "type")]
    #[param(rename = "type", inline, value_type = Option<crate::forms::model::FormType>)]
    pub kind: Option<String>,
    /// `pending`, `reviewed` or `resolved`.
    #[param(inline, value_type = Option<crate::forms::model::FormStatus>)]
    pub status: Option<String>,
    /// RFC 3339 time or a date (`2026-01-31`), inclusive.
    pub from: Option<String>,
    /// RFC 3339 time or a date, inclusive (a date means to its end).
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionPage {
    pub items: Vec<Submission>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEntry>,
}

async fn submit(
    state: &AppState,
    kind: FormType,
    user: Option<&AuthUser>,
    ip: &str,
    user_agent: &str,
    headers: &HeaderMap,
    body: Value,
) -> ApiResult<(StatusCode, AppJson<Submitted>)> {
    if !body.is_object() {
        return Err(ApiError::new(
            Code::InvalidBody,
            "Send the form as a JSON object.",
        ));
    }
    let extras: Extras = serde_json::from_value(body.clone()).unwrap_or_default();
    let limit = state.settings.forms_per_hour;
    crate::auth::limits::hit(
        state.stores.cache.as_ref(),
        &format!("rl:forms:{ip}"),
        limit,
        HOUR,
    )
    .await?;
    // A bot filled the field people never see: answer as if accepted, keep nothing.
    if extras
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty())
    {
        tracing::info!(kind = kind.as_str(), "form dropped by the honeypot");
        return Ok((
            StatusCode::CREATED,
            AppJson(Submitted {
                id: uuid::Uuid::new_v4().to_string(),
                status: FormStatus::Pending.as_str(),
            }),
        ));
    }
    let (email, name, fields) = model::parse(kind, &body).map_err(ApiError::validation)?;
    let page = extras.page.or_else(|| {
        headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let id = uuid::Uuid::new_v4().to_string();
    attach(state, user, &id, &fields).await?;
    let now = Utc::now();
    let submission = Submission {
        id,
        kind,
        status: FormStatus::Pending,
        assigned_to: None,
        email,
        user_id: user.map(|u| u.user_id.clone()),
        name,
        fields,
        metadata: SubmissionMeta {
            ip: ip.to_owned(),
            user_agent: user_agent.to_owned(),
            page: page.map(|p| p.chars().take(500).collect()),
        },
        created_at: now,
        updated_at: now,
    };
    store::create(state, &submission).await?;
    crate::dashboard::metrics::record(state, "forms").await;
    if let Some(to) = &state.settings.forms_notify_email {
        let kind = kind.as_str();
        let text = format!(
            "A new {kind} form from {} <{}> is waiting for review (id {}).",
            submission.name, submission.email, submission.id
        );
        let mail = Mail::new("form-notification", to, &format!("New {kind} form"), &text);
        // The submission is stored; a notification that cannot even be recorded must not fail it.
        if let Err(e) = email::enqueue(state, &mail).await {
            tracing::warn!("form notification not queued: {e}");
        }
    }
    Ok((
        StatusCode::CREATED,
        AppJson(Submitted {
            id: submission.id,
            status: FormStatus::Pending.as_str(),
        }),
    ))
}

/// Attached files must be the signed-in sender's ready uploads; they become readable by admins.
async fn attach(
    state: &AppState,
    user: Option<&AuthUser>,
    form_id: &str,
    fields: &Value,
) -> ApiResult<()> {
    let ids: Vec<&str> = fields["attachments"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok(());
    }
    let user = user.ok_or_else(|| {
        ApiError::new(
            Code::Unauthorized,
            "Sign in to attach files: they are uploaded through /api/v1/files.",
        )
    })?;
    for id in ids {
        crate::files::store::grant(
            state,
            &user.user_id,
            id,
            crate::files::model::Grant::Form(form_id.to_owned()),
        )
        .await
        .map_err(|e| e.with_field("attachments", format!("{id} is not a ready file of yours.")))?;
    }
    Ok(())
}

macro_rules! submit_route {
    ($name:ident, $operation_id:literal, $kind:literal, $type:expr, $schema:ty) => {
        #[utoipa::path(post, operation_id = $operation_id, path = concat!("/api/v1/forms/", $kind), tag = "forms", request_body = $schema,
            responses(
                (status = 201, description = "Received, pending review", body = Submitted),
                (status = 400, description = "`VALIDATION_FAILED` with field errors, or `FILE_NOT_READY` for an attachment that is not the sender's ready file", body = Problem),
                (status = 401, description = "Attachments without a valid access token", body = Problem),
                (status = 429, description = "`RATE_LIMITED`", body = Problem),
            ))]
        pub async fn $name(
            State(state): State<AppState>,
            user: Option<AuthUser>,
            ClientIp(ip): ClientIp,
            UserAgent(user_agent): UserAgent,
            headers: HeaderMap,
            AppJson(body): AppJson<Value>,
        ) -> ApiResult<(StatusCode, AppJson<Submitted>)> {
            submit(&state, $type, user.as_ref(), &ip, &user_agent, &headers, body).await
        }
    };
}

submit_route!(
    submit_contact,
    "submitContact",
    "contact",
    FormType::Contact,
    Contact
);
submit_route!(
    submit_interest,
    "submitInterest",
    "interest",
    FormType::Interest,
    Interest
);
submit_route!(
    submit_referral,
    "submitReferral",
    "referral",
    FormType::Referral,
    Referral
);

/// A bound of a date filter: an RFC 3339 time, or a date (its start, or with `end` its end).
fn bound(errors: &mut FieldErrors, field: &str, value: Option<&str>, end: bool) -> Option<String> {
    let value = value?.trim();
    if let Ok(t) = value.parse::<DateTime<Utc>>() {
        return Some(t.to_rfc3339());
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(day) => {
            let t = if end {
                day.and_hms_nano_opt(23, 59, 59, 999_999_999)
            } else {
                day.and_hms_opt(0, 0, 0)
            };
            Some(t.expect("valid time").and_utc().to_rfc3339())
        }
        Err(_) => {
            errors.insert(
                field.into(),
                vec!["Use an RFC 3339 time or a date like 2026-01-31.".into()],
            );
            None
        }
    }
}

/// The admin filters as a store query.
fn filters(
    kind: Option<&str>,
    status: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> ApiResult<StoreQuery> {
    let mut errors = FieldErrors::new();
    let mut query = StoreQuery::default();
    if let Some(kind) = kind {
        if FormType::parse(kind).is_none() {
            errors.insert("type".into(), vec![FormType::HINT.into()]);
        }
        query = query.filter(Filter::eq("type", kind));
    }
    if let Some(status) = status {
        if FormStatus::parse(status).is_none() {
            errors.insert("status".into(), vec![FormStatus::HINT.into()]);
        }
        query = query.filter(Filter::eq("status", status));
    }
    if let Some(from) = bound(&mut errors, "from", from, false) {
        query = query.filter(Filter::new("createdAt", Cmp::Gte, from));
    }
    if let Some(to) = bound(&mut errors, "to", to, true) {
        query = query.filter(Filter::new("createdAt", Cmp::Lte, to));
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(ApiError::validation(errors))
    }
}

#[utoipa::path(get, operation_id = "listForms", path = "/api/v1/forms", tag = "forms", security(("bearer" = ["admin"])), params(ListParams),
    responses((status = 200, description = "Submissions matching the filters", body = SubmissionPage), (status = 400, description = "`VALIDATION_FAILED` (bad filter)", body = Problem), (status = 403, description = "`FORBIDDEN`", body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<ListParams>,
) -> ApiResult<AppJson<SubmissionPage>> {
    let query = filters(
        params.kind.as_deref(),
        params.status.as_deref(),
        params.from.as_deref(),
        params.to.as_deref(),
    )?
    .limit(params.limit.unwrap_or(20).clamp(1, 100));
    let page = store::page(&state, &query, params.cursor.as_deref()).await?;
    Ok(AppJson(SubmissionPage {
        items: page.items,
        next_cursor: page.continuation,
    }))
}

#[utoipa::path(get, operation_id = "exportForms", path = "/api/v1/forms/export.csv", tag = "forms", security(("bearer" = ["admin"])),
    params(("type" = Option<String>, Query, description = "contact, interest or referral"), ("from" = Option<String>, Query, description = "RFC 3339 time or date"), ("to" = Option<String>, Query, description = "RFC 3339 time or date")),
    responses((status = 200, description = "The submissions as CSV", content_type = "text/csv"), (status = 400, description = "`VALIDATION_FAILED` (bad filter)", body = Problem)))]
pub async fn export_csv(
    State(state): State<AppState>,
    _admin: AdminUser,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let query = filters(
        params.kind.as_deref(),
        None,
        params.from.as_deref(),
        params.to.as_deref(),
    )?
    .limit(500);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::internal(e);
    writer
        .write_record([
            "id",
            "type",
            "status",
            "assignedTo",
            "createdAt",
            "name",
            "email",
            "ip",
            "page",
            "details",
        ])
        .map_err(csv_error)?;
    let mut token: Option<String> = None;
    let mut rows = 0;
    loop {
        let page = store::page(&state, &query, token.as_deref()).await?;
        for s in page.items {
            rows += 1;
            if rows > EXPORT_MAX {
                return Err(ApiError::new(
                    Code::ExportTooLarge,
                    format!("More than {EXPORT_MAX} rows: narrow from/to."),
                ));
            }
            let record = [
                s.id.as_str(),
                s.kind.as_str(),
                s.status.as_str(),
                s.assigned_to.as_deref().unwrap_or(""),
                &s.created_at.to_rfc3339(),
                &s.name,
                &s.email,
                &s.metadata.ip,
                s.metadata.page.as_deref().unwrap_or(""),
                &s.fields.to_string(),
            ];
            writer
                .write_record(record.map(inert_cell).iter().map(|c| c.as_bytes()))
                .map_err(csv_error)?;
        }
        match page.continuation {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"forms.csv\""),
    );
    Ok(response)
}

/// A cell a spreadsheet will not run: one that starts like a formula (`=`, `+`, `-`, `@`, tab
/// or carriage return) gets a leading `'`, so a submitted `=HYPERLINK(...)` opens as text in
/// the admin's Excel instead of running there (CSV injection).
fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn no_form() -> ApiError {
    ApiError::not_found("No such form.")
}

async fn load(state: &AppState, id: &str) -> ApiResult<Submission> {
    store::get(state, id).await?.ok_or_else(no_form)
}

#[utoipa::path(get, operation_id = "getForm", path = "/api/v1/forms/{id}", tag = "forms", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Submission id")),
    responses((status = 200, description = "The submission", body = Submission), (status = 404, description = "No such form", body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<Submission>> {
    Ok(AppJson(load(&state, &id).await?))
}

#[utoipa::path(patch, operation_id = "updateForm", path = "/api/v1/forms/{id}", tag = "forms", security(("bearer" = ["admin"])), request_body = Review,
    params(("id" = String, Path, description = "Submission id")),
    responses((status = 200, description = "Updated; the change is in the audit trail", body = Submission), (status = 400, description = "`VALIDATION_FAILED`", body = Problem), (status = 404, description = "No such form", body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    AppJson(review): AppJson<Review>,
) -> ApiResult<AppJson<Submission>> {
    let mut errors = FieldErrors::new();
    let status = review.status.as_deref().map(FormStatus::parse);
    if status.is_some_and(|s| s.is_none()) {
        errors.insert("status".into(), vec![FormStatus::HINT.into()]);
    }
    if let Some(Some(assignee)) = &review.assigned_to
        && crate::users::store::get(&state, assignee)
            .await?
            .is_none_or(|u| u.role != Role::Admin)
    {
        errors.insert(
            "assignedTo".into(),
            vec!["Assign to an admin's user id.".into()],
        );
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let status = status.flatten();
    let (submission, changes) = store::update(&state, &id, |submission| {
        let mut changes = serde_json::Map::new();
        if let Some(status) = status
            && status != submission.status
        {
            changes.insert(
                "status".into(),
                json!({"from": submission.status, "to": status}),
            );
            submission.status = status;
        }
        if let Some(assignee) = &review.assigned_to
            && *assignee != submission.assigned_to
        {
            changes.insert(
                "assignedTo".into(),
                json!({"from": submission.assigned_to, "to": assignee}),
            );
            submission.assigned_to = assignee.clone();
        }
        changes
    })
    .await?
    .ok_or_else(no_form)?;
    if changes.contains_key("status")
        && let Some(sender) = &submission.user_id
    {
        crate::notifications::record_for(
            &state,
            std::slice::from_ref(sender),
            crate::notifications::Kind::FormStatus,
            json!({"formId": submission.id, "type": submission.kind, "status": submission.status}),
        )
        .await;
    }
    if !changes.is_empty() {
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            form_id: id,
            actor: admin.user_id,
            at: Utc::now(),
            changes: Value::Object(changes),
        };
        store::record_audit(&state, entry).await?;
    }
    Ok(AppJson(submission))
}

#[utoipa::path(get, operation_id = "getFormAudit", path = "/api/v1/forms/{id}/audit", tag = "forms", security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Submission id")),
    responses((status = 200, description = "Every change, oldest first", body = AuditList), (status = 404, description = "No such form", body = Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> ApiResult<AppJson<AuditList>> {
    load(&state, &id).await?;
    let mut items = store::audit_of(&state, &id).await?;
    items.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(AppJson(AuditList { items }))
}
