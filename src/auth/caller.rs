//! Who is calling: the `Caller` extractor authenticates a request (a session's access JWT or an
//! API token) and loads the account and its organisation's membership status fresh from the
//! database, so a deactivation or a change of status takes effect on the next request.

use std::collections::BTreeSet;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::jwt::JwtKeys;
use crate::core::{Actor, MembershipStatus, text_enum};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::observe::RequestId;

text_enum!(
    /// A user's role.
    Role {
        /// OCC secretariat: administers everything.
        Admin = "admin",
        /// Acts for one organisation; what they may do follows from its membership status.
        PartnerRepresentative = "partner_representative",
        /// Acts for one organisation; what they may do follows from its membership status.
        ObserverRepresentative = "observer_representative",
    }
);

text_enum!(
    /// What an API token may be used for. A session (login) carries every scope; a token carries
    /// the ones it was created with, and never more than its owner's role allows.
    #[derive(PartialOrd, Ord)]
    Scope {
        OrganisationsRead = "organisations:read",
        OrganisationsWrite = "organisations:write",
        PeopleRead = "people:read",
        PeopleWrite = "people:write",
        UsersRead = "users:read",
        UsersWrite = "users:write",
        AuditRead = "audit:read",
    }
);

impl Scope {
    /// What the scope allows, for the API description.
    pub fn description(self) -> &'static str {
        match self {
            Scope::OrganisationsRead => "read organisations and their membership history",
            Scope::OrganisationsWrite => {
                "create, edit and archive organisations, and record membership changes"
            }
            Scope::PeopleRead => "read contact persons",
            Scope::PeopleWrite => "create, edit and delete contact persons",
            Scope::UsersRead => "read accounts and invitations",
            Scope::UsersWrite => "manage accounts and invitations, and retry notifications",
            Scope::AuditRead => "read the audit trail",
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A login session: the refresh-token family id.
    Session { family_id: String },
    /// An API token.
    ApiToken {
        token_id: String,
        scopes: BTreeSet<Scope>,
    },
    /// The service itself (command line, seeding): acts as an admin.
    System,
}

/// An authenticated, active caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub organisation_id: Option<String>,
    /// The membership status of the caller's organisation, read on this request.
    pub organisation_status: Option<MembershipStatus>,
    pub credential: Credential,
    pub request_id: Option<String>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn session_family(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { family_id } => Some(family_id),
            Credential::ApiToken { .. } | Credential::System => None,
        }
    }

    /// The service itself, acting as an admin (command line and seeding).
    pub fn system() -> Self {
        Caller {
            user_id: String::new(),
            email: String::new(),
            role: Role::Admin,
            organisation_id: None,
            organisation_status: None,
            credential: Credential::System,
            request_id: None,
        }
    }

    /// The user id to record as the author of a change (none for the system).
    pub fn author(&self) -> Option<&str> {
        (!matches!(self.credential, Credential::System)).then_some(self.user_id.as_str())
    }

    /// Who an `Idempotency-Key` belongs to: the user of a session, or the API token itself.
    pub fn idempotency_owner(&self) -> Option<String> {
        match &self.credential {
            Credential::Session { .. } => Some(format!("user:{}", self.user_id)),
            Credential::ApiToken { token_id, .. } => Some(format!("token:{token_id}")),
            Credential::System => None,
        }
    }

    /// The actor recorded in audit events.
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::System => Actor::system(),
            Credential::Session { .. } => Actor::user(&self.user_id, self.request_id.clone()),
            Credential::ApiToken { token_id, .. } => {
                Actor::api_token(&self.user_id, token_id, self.request_id.clone())
            }
        }
    }
}

/// API token secrets start with this prefix, so they are recognisable (and scannable) when leaked.
pub const API_TOKEN_PREFIX: &str = "cnt_";

pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let db = req.app_data::<web::Data<Db>>().cloned();
        let jwt = req.app_data::<web::Data<JwtKeys>>().cloned();
        let token = bearer(req).map(str::to_owned);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        Box::pin(async move {
            let (Some(db), Some(jwt)) = (db, jwt) else {
                return Err(ApiError::internal(
                    "the database or the JWT keys are not registered",
                ));
            };
            let token = token.ok_or_else(|| {
                ApiError::Unauthenticated(
                    "send Authorization: Bearer <access token or API token>".into(),
                )
            })?;
            let mut caller = if token.starts_with(API_TOKEN_PREFIX) {
                let hash = super::token_hash(&token);
                db.read(move |conn| super::repo::caller_by_api_token(conn, &hash))
                    .await?
            } else {
                let claims = jwt.verify(&token).ok_or_else(|| {
                    ApiError::Unauthenticated("the access token is invalid or has expired".into())
                })?;
                db.read(move |conn| super::repo::caller_by_session(conn, &claims.sub, &claims.sid))
                    .await?
            }
            .ok_or_else(|| ApiError::Unauthenticated("the credential is no longer valid".into()))?;
            caller.request_id = request_id;
            Ok(caller)
        })
    }
}

/// Who an `Idempotency-Key` belongs to, for the idempotency middleware (which `startup` hands this
/// function, so that `http` need not know about callers): the authenticated caller, checked as the
/// handler will check it. A request without a working credential gets no owner.
pub fn idempotency_owner(req: &HttpRequest) -> LocalBoxFuture<'static, Option<String>> {
    let extract = <Caller as FromRequest>::extract(req);
    Box::pin(async move { extract.await.ok().and_then(|c| c.idempotency_owner()) })
}
