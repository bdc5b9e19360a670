//! The three form types, their validation, and the stored submission.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::users::model::Email;

/// Which form was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormType {
    Contact,
    Interest,
    Referral,
}

impl FormType {
    pub const ALL: [FormType; 3] = [FormType::Contact, FormType::Interest, FormType::Referral];
    pub const HINT: &str = "Use contact, interest or referral.";

    pub const fn as_str(self) -> &'static str {
        match self {
            FormType::Contact => "contact",
            FormType::Interest => "interest",
            FormType::Referral => "referral",
        }
    }

    /// Parses what a client sent (a string, so that a bad value is a field error).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// Where a submission is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormStatus {
    Pending,
    Reviewed,
    Resolved,
}

impl FormStatus {
    pub const ALL: [FormStatus; 3] = [
        FormStatus::Pending,
        FormStatus::Reviewed,
        FormStatus::Resolved,
    ];
    pub const HINT: &str = "Use pending, reviewed or resolved.";

    pub const fn as_str(self) -> &'static str {
        match self {
            FormStatus::Pending => "pending",
            FormStatus::Reviewed => "reviewed",
            FormStatus::Resolved => "resolved",
        }
    }

    /// Parses what a client sent, as [`FormType::parse`].
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Fields every form may carry besides its own: `website` is a honeypot (people never see it,
/// bots fill it), `page` says where the form was sent from.
#[derive(Debug, Default, Deserialize)]
pub struct Extras {
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub message: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Interest {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub programs: Vec<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Referral {
    pub referrer_name: String,
    pub referrer_email: String,
    #[serde(default)]
    pub referrer_phone: Option<String>,
    pub participant_name: String,
    pub participant_contact: String,
    pub services_needed: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// The `forms` document (partition key `/id`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Submission {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FormType,
    pub status: FormStatus,
    pub assigned_to: Option<String>,
    /// The submitter's normalised email (for replies; export and erase match it only once
    /// the account's address is verified).
    pub email: String,
    /// The signed-in sender's user id, if any: their export and erase find it by this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub name: String,
    /// The type's own fields, as submitted.
    #[schema(value_type = Object)]
    pub fields: Value,
    pub metadata: SubmissionMeta,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::document!(Submission, FORMS, id);

// One change of a submission's review, as the admins see it (stored by `store.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub form_id: String,
    /// The admin's user id.
    pub actor: String,
    pub at: DateTime<Utc>,
    /// Field -> `{from, to}`.
    #[schema(value_type = Object)]
    pub changes: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionMeta {
    pub ip: String,
    pub user_agent: String,
    pub page: Option<String>,
}

fn push(errors: &mut FieldErrors, field: &str, message: &str) {
    errors
        .entry(field.to_owned())
        .or_default()
        .push(message.to_owned());
}

fn text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) {
    let n = value.trim().chars().count();
    if n == 0 || n > max {
        push(errors, field, &format!("Enter 1 to {max} characters."));
    }
}

fn optional(errors: &mut FieldErrors, field: &str, value: &Option<String>, max: usize) {
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        push(errors, field, &format!("Use at most {max} characters."));
    }
}

fn email(errors: &mut FieldErrors, field: &str, value: &str) -> String {
    match Email::parse(value) {
        Ok(e) => e.as_str().to_owned(),
        Err(m) => {
            push(errors, field, m);
            String::new()
        }
    }
}

fn phone(errors: &mut FieldErrors, field: &str, value: &Option<String>) {
    let ok = value.as_ref().is_none_or(|p| {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        (7..=15).contains(&digits)
            && p.chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    });
    if !ok {
        push(errors, field, "Enter a phone number of 7 to 15 digits.");
    }
}

fn list(errors: &mut FieldErrors, field: &str, items: &[String]) {
    if items.is_empty()
        || items.len() > 20
        || items
            .iter()
            .any(|i| i.trim().is_empty() || i.chars().count() > 100)
    {
        push(
            errors,
            field,
            "Choose 1 to 20 items of up to 100 characters.",
        );
    }
}

/// Parses and validates one form; returns (submitter email, submitter name, fields) or the
/// field errors. Unknown fields are errors too, named after the field.
pub fn parse(kind: FormType, body: &Value) -> Result<(String, String, Value), FieldErrors> {
    let mut fields = body.clone();
    if let Some(obj) = fields.as_object_mut() {
        obj.remove("website");
        obj.remove("page");
    }
    let mut errors = FieldErrors::new();
    let unknown = |e: serde_json::Error| {
        let mut errors = FieldErrors::new();
        push(&mut errors, "body", &e.to_string());
        errors
    };
    let result = match kind {
        FormType::Contact => {
            let f: Contact = serde_json::from_value(fields.clone()).map_err(unknown)?;
            text(&mut errors, "name", &f.name, 100);
            let email = email(&mut errors, "email", &f.email);
            optional(&mut errors, "subject", &f.subject, 200);
            text(&mut errors, "message", &f.message, 5000);
            (email, f.name.trim().to_owned())
        }
        FormType::Interest => {
            let f: Interest = serde_json::from_value(fields.clone()).map_err(unknown)?;
            text(&mut errors, "name", &f.name, 100);
            let email = email(&mut errors, "email", &f.email);
            phone(&mut errors, "phone", &f.phone);
            list(&mut errors, "programs", &f.programs);
            optional(&mut errors, "message", &f.message, 5000);
            (email, f.name.trim().to_owned())
        }
        FormType::Referral => {
            let f: Referral = serde_json::from_value(fields.clone()).map_err(unknown)?;
            text(&mut errors, "referrerName", &f.referrer_name, 100);
            let email = email(&mut errors, "referrerEmail", &f.referrer_email);
            phone(&mut errors, "referrerPhone", &f.referrer_phone);
            text(&mut errors, "participantName", &f.participant_name, 100);
            text(
                &mut errors,
                "participantContact",
                &f.participant_contact,
                200,
            );
            list(&mut errors, "servicesNeeded", &f.services_needed);
            optional(&mut errors, "notes", &f.notes, 5000);
            if f.attachments.len() > 10
                || f.attachments
                    .iter()
                    .any(|a| crate::store::doc_id_ok(a).is_err())
            {
                push(
                    &mut errors,
                    "attachments",
                    "Attach up to 10 uploaded files by id.",
                );
            }
            (email, f.referrer_name.trim().to_owned())
        }
    };
    if errors.is_empty() {
        Ok((result.0, result.1, fields))
    } else {
        Err(errors)
    }
}
