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
use crate::db::{Db, DbConn};
use crate::error::ApiError;
use crate::http::idempotency::{IdempotencyClaim, OwnerLookup};
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
        DrugsRead = "drugs:read",
        DrugsWrite = "drugs:write",
        AgreementsRead = "agreements:read",
        AgreementsWrite = "agreements:write",
        AllocationsRead = "allocations:read",
        AllocationsWrite = "allocations:write",
        BodiesRead = "bodies:read",
        BodiesWrite = "bodies:write",
        DecisionsRead = "decisions:read",
        DecisionsWrite = "decisions:write",
        MeetingsRead = "meetings:read",
        MeetingsWrite = "meetings:write",
        UsersRead = "users:read",
        UsersWrite = "users:write",
        AuditRead = "audit:read",
        WebhooksRead = "webhooks:read",
        WebhooksWrite = "webhooks:write",
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
            Scope::DrugsRead => "read the drugs companies contribute",
            Scope::DrugsWrite => "register and edit a company's drugs",
            Scope::AgreementsRead => "read drug-supply agreements, their usage, and cohorts",
            Scope::AgreementsWrite => "draft, submit and manage drug-supply agreements and cohorts",
            Scope::AllocationsRead => "read patient allocations (pseudonymous patient-level data)",
            Scope::AllocationsWrite => {
                "start patients under agreements and record their evaluations"
            }
            Scope::BodiesRead => {
                "read the board, the general assembly, the working groups and their members"
            }
            Scope::BodiesWrite => {
                "create and edit bodies, and manage their members (as admin, chair or secretary)"
            }
            Scope::DecisionsRead => "read bodies' decisions, votes and results",
            Scope::DecisionsWrite => {
                "propose decisions, open and close votes, vote and declare conflicts"
            }
            Scope::MeetingsRead => "read meetings, open events, their invitees and calendars",
            Scope::MeetingsWrite => {
                "schedule and edit meetings, manage invitees (as admin, chair or secretary) and answer invitations"
            }
            Scope::UsersRead => "read accounts and invitations",
            Scope::UsersWrite => "manage accounts and invitations, and retry notifications",
            Scope::AuditRead => "read the audit trail",
            Scope::WebhooksRead => "read webhook subscriptions and their delivery log (admins)",
            Scope::WebhooksWrite => {
                "create, change and delete webhook subscriptions, send test events and retry deliveries (admins)"
            }
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

/// A request's credential, checked as far as it can be without the database: a session's access
/// JWT verified (algorithm, signature, lifetime), or an API token's hash. It is worked out once per
/// request and kept in the request's extensions, so the idempotency middleware and the handler
/// share it. The account behind it is loaded by [`Auth::read`] or [`Auth::write`] in the same
/// database hop (for a write, the same transaction) as the handler's own work, so a request costs
/// one hop and a change is checked against the caller's standing as it is when it is made.
/// [`Caller`], the extractor, loads it in a hop of its own, for the few handlers that need the
/// caller outside the database.
///
/// A request holding an `Idempotency-Key` claim (see `http::idempotency`) carries it here too, so
/// that [`Auth::write`] marks the claim committed in the handler's own transaction. The claim is
/// read from the extensions each time the `Auth` is taken, since the middleware works the `Auth`
/// out (to find the key's owner) before it claims the key.
#[derive(Debug, Clone)]
pub struct Auth {
    presented: Presented,
    request_id: Option<String>,
    claim: Option<IdempotencyClaim>,
}

#[derive(Debug, Clone)]
enum Presented {
    Session { user_id: String, family_id: String },
    ApiToken { hash: String },
}

impl Auth {
    /// The request's credential (computed once, then read from the request's extensions).
    pub fn of(req: &HttpRequest) -> Result<Auth, ApiError> {
        let claim = IdempotencyClaim::of(req);
        if let Some(auth) = req.extensions().get::<Auth>() {
            return Ok(Auth {
                claim,
                ..auth.clone()
            });
        }
        let token = bearer(req).ok_or_else(|| {
            ApiError::Unauthenticated(
                "send Authorization: Bearer <access token or API token>".into(),
            )
        })?;
        let presented = if token.starts_with(API_TOKEN_PREFIX) {
            Presented::ApiToken {
                hash: super::token_hash(token),
            }
        } else {
            let jwt = req
                .app_data::<web::Data<JwtKeys>>()
                .ok_or_else(|| ApiError::internal("the JWT keys are not registered"))?;
            let claims = jwt.verify(token).ok_or_else(|| {
                ApiError::Unauthenticated("the access token is invalid or has expired".into())
            })?;
            Presented::Session {
                user_id: claims.sub,
                family_id: claims.sid,
            }
        };
        let auth = Auth {
            presented,
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
            claim: None,
        };
        req.extensions_mut().insert(auth.clone());
        Ok(Auth { claim, ..auth })
    }

    /// The active account behind the credential, loaded on `conn`; 401 when the session was
    /// ended, the token revoked or expired, or the account deactivated.
    pub fn load(&self, conn: &mut DbConn) -> Result<Caller, ApiError> {
        let caller = match &self.presented {
            Presented::ApiToken { hash } => super::repo::caller_by_api_token(conn, hash)?,
            Presented::Session { user_id, family_id } => {
                super::repo::caller_by_session(conn, user_id, family_id)?
            }
        };
        let mut caller = caller
            .ok_or_else(|| ApiError::Unauthenticated("the credential is no longer valid".into()))?;
        caller.request_id.clone_from(&self.request_id);
        Ok(caller)
    }

    /// Loads the caller and runs read work `f` as them, in one database hop.
    pub async fn read<T, F>(&self, db: &Db, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, &Caller) -> Result<T, ApiError> + Send + 'static,
    {
        let auth = self.clone();
        db.read(move |conn| {
            let caller = auth.load(conn)?;
            f(conn, &caller)
        })
        .await
    }

    /// Loads the caller and runs write work `f` as them, in one transaction. When the request
    /// holds an `Idempotency-Key` claim, the transaction marks it committed once `f` succeeded, or
    /// fails with 409 (and rolls back) when a retry took the claim over.
    pub async fn write<T, F>(&self, db: &Db, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, &Caller) -> Result<T, ApiError> + Send + 'static,
    {
        let auth = self.clone();
        IdempotencyClaim::write(self.claim.clone(), db, move |conn| {
            let caller = auth.load(conn)?;
            f(conn, &caller)
        })
        .await
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Auth::of(req))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let db = req.app_data::<web::Data<Db>>().cloned();
        let auth = Auth::of(req);
        Box::pin(async move {
            let db = db.ok_or_else(|| ApiError::internal("the database is not registered"))?;
            let auth = auth?;
            db.read(move |conn| auth.load(conn)).await
        })
    }
}

/// Who an `Idempotency-Key` belongs to, for the idempotency middleware (which `startup` hands this
/// function, so that `http` need not know about callers): the authenticated caller, checked as the
/// handler will check it, inside the middleware's own database hop. A request without a working
/// credential gets no owner.
pub fn idempotency_owner(req: &HttpRequest) -> Option<OwnerLookup> {
    let auth = Auth::of(req).ok()?;
    Some(Box::new(move |conn: &mut DbConn| {
        Ok(match auth.load(conn) {
            Ok(caller) => caller.idempotency_owner(),
            Err(ApiError::Unauthenticated(_)) => None,
            Err(e) => return Err(e),
        })
    }))
}
