//! The one error type of the HTTP layer, rendered as RFC 9457 `application/problem+json`.
//!
//! Which error belongs where:
//! - repositories return `ApiError` directly (diesel errors convert with `?`: a missing row becomes
//!   404, a lost connection 503, anything else an opaque 500 that is logged, never shown);
//! - rules in a module's `model` return [`ApiError::Validation`] with field errors, or a
//!   [`ApiError::Conflict`] naming the rule;
//! - the policy returns [`ApiError::NotFound`] for what the caller may not see and
//!   [`ApiError::Forbidden`] for what they see but may not do.
//!
//! Each problem has a stable `type` (`/problems/<slug>`): a [`ProblemType`], which carries its
//! status and title, and which the spec lists from the same declaration.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem with one field of the input.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
#[schema(example = json!({"field": "org_number", "code": "invalid_check_digit", "message": "the last digit does not match the mod-11 check digit"}))]
pub struct FieldError {
    /// The field, as a JSON path into the body or the query parameter name.
    pub field: String,
    /// A stable machine-readable code (`required`, `too_long`, `invalid_format`, …).
    pub code: String,
    /// A human explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-failed",
    "title": "The request has invalid fields",
    "status": 422,
    "detail": "1 field is invalid",
    "errors": [{"field": "org_number", "code": "invalid_check_digit", "message": "the last digit does not match the mod-11 check digit"}]
}))]
pub struct Problem {
    /// Stable identifier of the kind of problem; see the list in the API description.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field errors, for `validation-failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Declares [`ProblemType`]: each type's slug, status and title, written once.
macro_rules! problem_types {
    ($($(#[$m:meta])* $variant:ident = ($slug:tt, $status:ident, $title:tt)),+ $(,)?) => {
        /// Every kind of problem the service answers with: its stable slug (`type` is
        /// `/problems/<slug>`), HTTP status and title. The spec lists them from
        /// [`ProblemType::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ProblemType {
            $($(#[$m])* $variant),+
        }

        impl ProblemType {
            /// Every problem type, in the order the API description lists them.
            pub const ALL: &'static [ProblemType] = &[$(ProblemType::$variant),+];

            pub const fn slug(self) -> &'static str {
                match self { $(ProblemType::$variant => $slug),+ }
            }

            pub const fn status(self) -> StatusCode {
                match self { $(ProblemType::$variant => StatusCode::$status),+ }
            }

            pub const fn title(self) -> &'static str {
                match self { $(ProblemType::$variant => $title),+ }
            }
        }
    };
}

problem_types! {
    MalformedRequest = ("malformed-request", BAD_REQUEST, "The request could not be read"),
    InvalidJson = ("invalid-json", BAD_REQUEST, "The body is not valid JSON"),
    InvalidParameter = ("invalid-parameter", BAD_REQUEST, "A path or query parameter is invalid"),
    Unauthenticated = ("unauthenticated", UNAUTHORIZED, "Authentication is required"),
    Forbidden = ("forbidden", FORBIDDEN, "You may not do this"),
    InsufficientScope = ("insufficient-scope", FORBIDDEN, "The API token lacks a scope this needs"),
    NotFound = ("not-found", NOT_FOUND, "No such resource"),
    MethodNotAllowed = (
        "method-not-allowed",
        METHOD_NOT_ALLOWED,
        "The resource does not take this method"
    ),
    NotAcceptable = ("not-acceptable", NOT_ACCEPTABLE, "No acceptable representation"),
    Conflict = ("conflict", CONFLICT, "The request conflicts with the current state"),
    IdempotencyKeyInUse = (
        "idempotency-key-in-use",
        CONFLICT,
        "A request with this Idempotency-Key is still in progress"
    ),
    /// The request first sent with this key was carried out (its change committed) but its
    /// response was never stored, so it cannot be replayed and is not run again: read the
    /// resource instead of retrying.
    IdempotencyResponseLost = (
        "idempotency-response-lost",
        CONFLICT,
        "The request with this Idempotency-Key was carried out, but its response was not kept"
    ),
    CapReached = (
        "cap-reached",
        CONFLICT,
        "A patient cap is reached: the agreement's, the drug's or the cohort stage's"
    ),
    InvalidTransition = (
        "invalid-transition",
        CONFLICT,
        "The record's status does not allow this change"
    ),
    AlreadyRegistered = (
        "already-registered",
        CONFLICT,
        "This e-mail address is already registered for the event"
    ),
    RegistrationClosed = (
        "registration-closed",
        CONFLICT,
        "The event takes no registrations: it is past or cancelled"
    ),
    NotTakingPatients = (
        "not-taking-patients",
        CONFLICT,
        "The agreement or cohort takes no new patients now"
    ),
    NotAVoter = (
        "not-a-voter",
        FORBIDDEN,
        "The caller holds no vote on this decision: not a voting member, recused, or their organisation may not vote"
    ),
    VotingClosed = (
        "voting-closed",
        CONFLICT,
        "The decision is not open for voting: not yet opened, past its deadline, or closed"
    ),
    PollClosed = (
        "poll-closed",
        CONFLICT,
        "The scheduling poll takes no answers: it is closed, past its closing time, or scheduled"
    ),
    PreconditionFailed = (
        "precondition-failed",
        PRECONDITION_FAILED,
        "The record changed since you read it"
    ),
    PayloadTooLarge = ("payload-too-large", PAYLOAD_TOO_LARGE, "The body is too large"),
    UnsupportedMediaType = (
        "unsupported-media-type",
        UNSUPPORTED_MEDIA_TYPE,
        "The body must be JSON"
    ),
    ValidationFailed = (
        "validation-failed",
        UNPROCESSABLE_ENTITY,
        "The request has invalid fields"
    ),
    IdempotencyKeyReused = (
        "idempotency-key-reused",
        UNPROCESSABLE_ENTITY,
        "The Idempotency-Key was used with another request"
    ),
    PreconditionRequired = (
        "precondition-required",
        PRECONDITION_REQUIRED,
        "This write needs an If-Match header"
    ),
    TooManyRequests = ("too-many-requests", TOO_MANY_REQUESTS, "Too many requests"),
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Internal error"),
    NotImplemented = (
        "not-implemented",
        NOT_IMPLEMENTED,
        "The service does not implement this method"
    ),
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE, "The service is temporarily unavailable"),
    StorageUnavailable = (
        "storage-unavailable",
        SERVICE_UNAVAILABLE,
        "The database cannot store changes now: its disk is full or read-only"
    ),
}

impl ProblemType {
    /// The problem type with this slug, if any.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.slug() == slug)
    }

    /// The `type` member of a problem document: `/problems/<slug>`.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request that could not be read (`malformed-request`, `invalid-json`,
    /// `invalid-parameter`).
    #[error("{detail}")]
    BadRequest { kind: ProblemType, detail: String },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("missing scope {0}")]
    InsufficientScope(String),
    #[error("not found")]
    NotFound,
    /// A method the path does not take; `allow` lists those it does (the `Allow` header).
    #[error("method {method} not allowed")]
    MethodNotAllowed { method: String, allow: Vec<String> },
    /// A method no resource takes.
    #[error("{0}")]
    NotImplemented(String),
    #[error("not acceptable")]
    NotAcceptable,
    /// A conflict with the current state (`conflict`, `idempotency-key-in-use`,
    /// `idempotency-response-lost`, …).
    #[error("{detail}")]
    Conflict { kind: ProblemType, detail: String },
    /// A refusal with a problem type of its own, whose status the type gives (`not-a-voter`).
    #[error("{detail}")]
    Refused { kind: ProblemType, detail: String },
    #[error("precondition failed")]
    PreconditionFailed,
    /// `If-Match` is missing, or is `*`; the detail says which.
    #[error("precondition required")]
    PreconditionRequired(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("too many requests")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The database answers but cannot write: its disk is full, its file or folder read-only, or
    /// it reports I/O errors (SQLite), or it is a read-only server (PostgreSQL). Reads go on.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn bad_request(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            kind,
            detail: detail.into(),
        }
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            kind: ProblemType::Conflict,
            detail: detail.into(),
        }
    }

    /// 409 with a problem type of its own (`cap-reached`, `invalid-transition`, …).
    pub fn conflict_of(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            detail: detail.into(),
        }
    }

    /// A refusal of a kind of its own; its status is the kind's (e.g. 403 for `not-a-voter`).
    pub fn refused(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Refused {
            kind,
            detail: detail.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn from_pool(e: r2d2::Error) -> Self {
        Self::Unavailable(format!("no database connection: {e}"))
    }

    /// The kind of problem this is; its status and title follow from it.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            Self::BadRequest { kind, .. }
            | Self::Conflict { kind, .. }
            | Self::Refused { kind, .. } => *kind,
            Self::Validation(_) => ProblemType::ValidationFailed,
            Self::Unauthenticated(_) => ProblemType::Unauthenticated,
            Self::Forbidden(_) => ProblemType::Forbidden,
            Self::InsufficientScope(_) => ProblemType::InsufficientScope,
            Self::NotFound => ProblemType::NotFound,
            Self::MethodNotAllowed { .. } => ProblemType::MethodNotAllowed,
            Self::NotImplemented(_) => ProblemType::NotImplemented,
            Self::NotAcceptable => ProblemType::NotAcceptable,
            Self::PreconditionFailed => ProblemType::PreconditionFailed,
            Self::PreconditionRequired(_) => ProblemType::PreconditionRequired,
            Self::PayloadTooLarge => ProblemType::PayloadTooLarge,
            Self::UnsupportedMediaType => ProblemType::UnsupportedMediaType,
            Self::IdempotencyKeyReused => ProblemType::IdempotencyKeyReused,
            Self::TooManyRequests { .. } => ProblemType::TooManyRequests,
            Self::Unavailable(_) => ProblemType::Unavailable,
            Self::StorageUnavailable(_) => ProblemType::StorageUnavailable,
            Self::Internal(_) => ProblemType::Internal,
        }
    }

    pub fn slug(&self) -> &'static str {
        self.problem_type().slug()
    }

    fn detail(&self) -> String {
        match self {
            Self::BadRequest { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::Refused { detail, .. } => detail.clone(),
            Self::TooManyRequests { detail, .. } => detail.clone(),
            Self::Validation(errors) => match errors.len() {
                1 => format!("{}: {}", errors[0].field, errors[0].message),
                n => format!("{n} fields are invalid"),
            },
            Self::Unauthenticated(d)
            | Self::Forbidden(d)
            | Self::PreconditionRequired(d)
            | Self::NotImplemented(d) => d.clone(),
            Self::MethodNotAllowed { method, allow } if allow.is_empty() => {
                format!("this resource does not take {method}")
            }
            Self::MethodNotAllowed { method, allow } => format!(
                "this resource does not take {method}; it takes {}",
                allow.join(", ")
            ),
            Self::InsufficientScope(scope) => {
                format!("this API token does not carry the scope '{scope}'")
            }
            Self::NotFound => "no such resource, or it is not visible to you".into(),
            Self::NotAcceptable => {
                "this resource is available as application/json (and text/csv for lists)".into()
            }
            Self::PreconditionFailed => {
                "the record changed since you read it: fetch it again and retry with its new ETag"
                    .into()
            }
            Self::PayloadTooLarge => "the body may be at most 64 KiB".into(),
            Self::UnsupportedMediaType => "send the body as Content-Type: application/json".into(),
            Self::IdempotencyKeyReused => {
                "this Idempotency-Key was already used with a different request body".into()
            }
            Self::Unavailable(_) => {
                "the database is unreachable; the service recovers by itself, retry shortly".into()
            }
            Self::StorageUnavailable(_) => {
                "the service cannot store changes now (its database's disk is full or read-only); \
                 reading still works; retry later"
                    .into()
            }
            Self::Internal(_) => "an unexpected error occurred; it has been logged".into(),
        }
    }

    pub fn to_problem(&self) -> Problem {
        let kind = self.problem_type();
        Problem {
            type_: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.problem_type().status()
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            Self::Unavailable(cause) => tracing::warn!(cause = %cause, "database unavailable"),
            // Needs the operator (free space, make the file writable): an error, not a warning.
            Self::StorageUnavailable(cause) => {
                tracing::error!(cause = %cause, "the database cannot store changes")
            }
            _ => {}
        }
        let mut builder = HttpResponse::build(self.status_code());
        builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable(_) => {
                builder.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::StorageUnavailable(_) => {
                builder.insert_header((header::RETRY_AFTER, "30"));
            }
            Self::Unauthenticated(_) => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"connect\""));
            }
            Self::MethodNotAllowed { allow, .. } if !allow.is_empty() => {
                builder.insert_header((header::ALLOW, allow.join(", ")));
            }
            _ => {}
        }
        builder.body(serde_json::to_string(&self.to_problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => Self::NotFound,
            // A failed COMMIT whose ROLLBACK failed too (SQLite rolls back by itself after an
            // I/O error or a full disk): the commit's error says what happened.
            E::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            E::DatabaseError(K::UniqueViolation, _) => {
                Self::conflict("a record with the same unique value already exists")
            }
            E::DatabaseError(K::SerializationFailure, _) => {
                Self::conflict("a concurrent change got there first; retry the request")
            }
            // Deleting a record others still refer to (a person who sits in a body, was invited
            // or voted): the caller has to remove those first; never a 500.
            E::DatabaseError(K::ForeignKeyViolation, _) => Self::conflict(
                "other records still refer to this one (or it refers to one that is gone); remove those references first",
            ),
            E::DatabaseError(K::CheckViolation, info) => Self::conflict(format!(
                "the change breaks a rule of the record (constraint {})",
                info.constraint_name().unwrap_or("check")
            )),
            E::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                Self::Unavailable(info.message().to_owned())
            }
            E::DatabaseError(_, ref info) if is_storage_fault(info.message()) => {
                Self::StorageUnavailable(info.message().to_owned())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Whether a database error means the storage cannot take writes (the disk, not the statement).
/// SQLite's messages for `SQLITE_READONLY` (a read-only file, folder or mount: "attempt to write
/// a readonly database"), `SQLITE_FULL` ("database or disk is full") and `SQLITE_IOERR` ("disk
/// I/O error", e.g. a write refused on an open file made immutable); PostgreSQL's for a full disk
/// ("could not extend file …: No space left on device", "could not write …") and a read-only
/// server ("cannot execute … in a read-only transaction", a standby after a failover).
pub fn is_storage_fault(message: &str) -> bool {
    const FAULTS: [&str; 6] = [
        "attempt to write a readonly database",
        "database or disk is full",
        "disk I/O error",
        "No space left on device",
        "could not extend file",
        "in a read-only transaction",
    ];
    FAULTS.iter().any(|f| message.contains(f))
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("json: {e}"))
    }
}

/// Builds a problem response for a status produced outside our handlers (actix's own 404s and
/// 405s, payload errors), so no plain-text error ever leaves the service.
pub fn problem_for_status(status: StatusCode) -> ApiError {
    match status.as_u16() {
        400 => ApiError::bad_request(
            ProblemType::MalformedRequest,
            "the request could not be read",
        ),
        401 => ApiError::Unauthenticated("authentication is required".into()),
        403 => ApiError::forbidden("you may not do this"),
        404 => ApiError::NotFound,
        405 => ApiError::MethodNotAllowed {
            method: "this method".into(),
            allow: Vec::new(),
        },
        406 => ApiError::NotAcceptable,
        413 => ApiError::PayloadTooLarge,
        415 => ApiError::UnsupportedMediaType,
        501 => ApiError::NotImplemented("the service does not implement this method".into()),
        503 => ApiError::Unavailable("service unavailable".into()),
        _ => ApiError::internal(format!("unexpected status {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_has_its_own_slug_an_error_status_and_a_title() {
        let mut slugs: Vec<_> = ProblemType::ALL.iter().map(|t| t.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
        for t in ProblemType::ALL {
            assert!(
                t.status().is_client_error() || t.status().is_server_error(),
                "{t:?}"
            );
            assert!(!t.title().is_empty(), "{t:?}");
            assert_eq!(ProblemType::from_slug(t.slug()), Some(*t));
        }
    }

    #[test]
    fn a_problem_takes_its_status_and_title_from_its_type() {
        let e = ApiError::Conflict {
            kind: ProblemType::IdempotencyKeyInUse,
            detail: "busy".into(),
        };
        let p = e.to_problem();
        assert_eq!(e.status_code(), StatusCode::CONFLICT);
        assert_eq!(p.type_, "/problems/idempotency-key-in-use");
        assert_eq!(p.title, ProblemType::IdempotencyKeyInUse.title());
        assert_eq!(p.status, 409);
        let e = ApiError::bad_request(ProblemType::InvalidParameter, "bad id");
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(e.slug(), "invalid-parameter");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let p = ApiError::internal("SELECT secret FROM users").to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("SELECT"));
    }

    #[test]
    fn a_full_or_read_only_disk_is_storage_unavailable_without_its_cause() {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        for message in [
            "attempt to write a readonly database",
            "database or disk is full",
            "disk I/O error",
            "could not extend file \"base/16384/2619\": No space left on device",
            "cannot execute INSERT in a read-only transaction",
        ] {
            let e = ApiError::from(E::DatabaseError(K::Unknown, Box::new(message.to_owned())));
            assert_eq!(
                e.problem_type(),
                ProblemType::StorageUnavailable,
                "{message}"
            );
            assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(!e.to_problem().detail.contains(message), "{message}");
            let res = e.error_response();
            let retry_after = res.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes());
            assert_eq!(retry_after, Some(&b"30"[..]));
        }
        let commit = E::RollbackErrorOnCommit {
            rollback_error: Box::new(E::NotInTransaction),
            commit_error: Box::new(E::DatabaseError(
                K::Unknown,
                Box::new("database or disk is full".to_owned()),
            )),
        };
        assert_eq!(
            ApiError::from(commit).problem_type(),
            ProblemType::StorageUnavailable
        );
        let other = E::DatabaseError(K::Unknown, Box::new("syntax error".to_owned()));
        assert_eq!(ApiError::from(other).problem_type(), ProblemType::Internal);
    }

    #[test]
    fn validation_lists_field_errors() {
        let p = ApiError::invalid("name", "required", "must not be empty").to_problem();
        assert_eq!(p.type_, "/problems/validation-failed");
        assert_eq!(p.status, 422);
        assert_eq!(p.errors.len(), 1);
    }
}
