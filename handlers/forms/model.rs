//! The three form types, their validation, and the stored submission.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::users::model::Email;

pub const TYPES: &[&str] = &["contact", "interest", "referral"];
pub const STATUSES: &[&str] = &["pending", "reviewed", "resolved"];

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
    /// `contact`, `interest` or `referral`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `reviewed` or `resolved`.
    pub status: String,
    pub assigned_to: Option<String>,
    /// The submitter's normalised email (for replies, export and erase).
    pub email: String,
    pub name: String,
    /// The type's own fields, as submitted.
    #[schema(value_type = Object)]
    pub fields: Value,
    pub metadata: SubmissionMeta,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
pub fn parse(kind: &str, body: &Value) -> Result<(String, String, Value), FieldErrors> {
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
        "contact" => {
            let f: Contact = serde_json::from_value(fields.clone()).map_err(unknown)?;
            text(&mut errors, "name", &f.name, 100);
            let email = email(&mut errors, "email", &f.email);
            optional(&mut errors, "subject", &f.subject, 200);
            text(&mut errors, "message", &f.message, 5000);
            (email, f.name.trim().to_owned())
        }
        "interest" => {
            let f: Interest = serde_json::from_value(fields.clone()).map_err(unknown)?;
            text(&mut errors, "name", &f.name, 100);
            let email = email(&mut errors, "email", &f.email);
            phone(&mut errors, "phone", &f.phone);
            list(&mut errors, "programs", &f.programs);
            optional(&mut errors, "message", &f.message, 5000);
            (email, f.name.trim().to_owned())
        }
        "referral" => {
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
        _ => unreachable!("the route admits known types only"),
    };
    if errors.is_empty() {
        Ok((result.0, result.1, fields))
    } else {
        Err(errors)
    }
}
