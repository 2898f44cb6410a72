//! Record identifiers: UUID v7 (time-ordered), stored as hyphenated text on both backends.
//!
//! [`Id`] holds the canonical text (lower-case, hyphenated) of a UUID and can hold nothing else:
//! it is made only by [`Id::new`], from a [`uuid::Uuid`], or by parsing, whether from JSON, a
//! query string or a database row. It travels as that text everywhere: in JSON (a string), in SQL
//! (`Text`, through the backend's own `str` binding, so one implementation serves SQLite,
//! PostgreSQL and the `MultiConnection` enum alike) and as `&str` (it dereferences to its text),
//! so code that only reads an id needs no conversion.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use uuid::Uuid;

/// What a malformed id is told, wherever it was given (a body field or a query parameter).
pub const INVALID_ID: &str = "must be a UUID";

/// A new time-ordered id, as text (for records whose id is not typed yet).
pub fn new_id() -> String {
    Id::new().0
}

/// A record id: the canonical text of a UUID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Id(String);

/// The text was not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{INVALID_ID}")]
pub struct InvalidId;

impl Id {
    /// A new time-ordered id (UUID v7).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::from(Uuid::now_v7())
    }

    /// Accepts any form `uuid` parses (hyphenated, simple, braced, URN) and keeps the canonical one.
    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        Uuid::try_parse(raw).map(Self::from).map_err(|_| InvalidId)
    }

    /// Like [`Id::parse`], keeping the given string when it is already canonical (no copy).
    fn from_text(raw: String) -> Result<Self, InvalidId> {
        let uuid = Uuid::try_parse(&raw).map_err(|_| InvalidId)?;
        let mut buf = Uuid::encode_buffer();
        let canonical = uuid.hyphenated().encode_lower(&mut buf);
        Ok(if *canonical == raw {
            Self(raw)
        } else {
            Self(canonical.to_owned())
        })
    }

    /// An id taken from where only ids are kept (the caller's account, a stored row): a malformed
    /// one is the service's fault, a 500.
    pub fn from_stored(raw: &str) -> Result<Self, crate::error::ApiError> {
        Self::parse(raw).map_err(|_| {
            crate::error::ApiError::internal(format!("a stored id is not a UUID: {raw}"))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Uuid> for Id {
    fn from(uuid: Uuid) -> Self {
        Self(uuid.hyphenated().to_string())
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl FromStr for Id {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}

impl Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for Id {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Id> for String {
    fn eq(&self, other: &Id) -> bool {
        *self == other.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a UUID")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Id::parse(v).map_err(|_| E::custom(INVALID_ID))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some(
                "A record id: a UUID (version 7 for the records made here).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Id {}

impl<DB> ToSql<Text, DB> for Id
where
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(self.0.as_str(), out)
    }
}

impl<DB> FromSql<Text, DB> for Id
where
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        Id::from_text(text).map_err(|e| format!("a stored id {e}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_keeps_the_canonical_text() {
        let id = Id::new();
        assert_eq!(Id::parse(&id).unwrap(), id);
        let upper = id.to_uppercase();
        assert_eq!(Id::parse(&upper).unwrap(), id);
        let simple = id.replace('-', "");
        assert_eq!(Id::parse(&simple).unwrap(), id);
        assert_eq!(Id::from_text(upper).unwrap(), id);
        assert!(Id::parse("not-a-uuid").is_err());
        assert!(Id::parse("").is_err());
    }

    #[test]
    fn travels_as_a_json_string() {
        let id = Id::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<Id>(&json).unwrap(), id);
        let err = serde_json::from_str::<Id>("\"roche\"").unwrap_err();
        assert!(err.to_string().starts_with(INVALID_ID), "{err}");
        assert!(serde_json::from_str::<Id>("7").is_err());
    }
}
