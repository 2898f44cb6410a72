use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::{Validator, normalise_email};

/// A contact person.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-2222-7000-8000-0000000000cc",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "name": "Kari Nordmann",
    "email": "kari.nordmann@roche.com",
    "title": "Medical Director",
    "phone": "+47 22 00 00 00",
    "user_id": null,
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
    "version": 1
}))]
pub struct Person {
    pub id: Id,
    pub organisation_id: Option<Id>,
    pub name: String,
    /// Unique across the register (stored in lower case).
    pub email: String,
    pub title: Option<String>,
    pub phone: Option<String>,
    /// The user account linked to this person, if any.
    pub user_id: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new contact. Representatives add contacts to their own organisation (the default for them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "name": "Kari Nordmann",
    "email": "kari.nordmann@roche.com",
    "title": "Medical Director",
    "phone": "+47 22 00 00 00"
}))]
pub struct CreatePerson {
    pub organisation_id: Option<Id>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    #[schema(max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
}

/// Changes to a contact; absent fields stay, `null` clears an optional one. Only admins move a
/// person to another organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Head of Medical Affairs"}))]
pub struct UpdatePerson {
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub organisation_id: Option<Option<Id>>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 254, format = Email)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub phone: Option<Option<String>>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl CreatePerson {
    pub fn into_record(self, id: Id, organisation_id: Option<Id>, now: DateTime<Utc>) -> Person {
        Person {
            id,
            organisation_id,
            name: self.name.trim().to_owned(),
            email: normalise_email(&self.email),
            title: clean(self.title),
            phone: clean(self.phone),
            user_id: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

impl UpdatePerson {
    pub fn apply(self, p: &Person) -> Person {
        let mut out = p.clone();
        if let Some(v) = self.organisation_id {
            out.organisation_id = v;
        }
        if let Some(v) = self.name {
            out.name = v.trim().to_owned();
        }
        if let Some(v) = self.email {
            out.email = normalise_email(&v);
        }
        if let Some(v) = self.title {
            out.title = clean(v);
        }
        if let Some(v) = self.phone {
            out.phone = clean(v);
        }
        out
    }
}

pub fn validate(p: &Person) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("name", &p.name, 200);
    v.email("email", &p.email);
    v.optional_text("title", p.title.as_deref(), 200);
    v.optional_text("phone", p.phone.as_deref(), 50);
    if let Some(phone) = &p.phone {
        v.check(
            phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
                && phone.chars().any(|c| c.is_ascii_digit()),
            "phone",
            "invalid_format",
            "may hold digits, spaces, +, - and parentheses only",
        );
    }
    v.finish()
}
