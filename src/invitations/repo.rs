use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::json;

use super::model::{CreateInvitation, Invitation, InvitationStatus};
use crate::audit::{self, diff};
use crate::auth::{Caller, random_token, token_hash};
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::notifications::templates::role_label;
use crate::notifications::{Kind, Mailer, Recipient, enqueue};
use crate::schema::{invitations as i, organisations as o, users as u};
use crate::users::model::CreateUser;
use crate::validation::{Validator, normalise_email};

/// How long an invitation link works.
pub const VALID_FOR: TimeDelta = TimeDelta::days(7);

/// An invitation as stored (without its token hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = i)]
struct InvitationRow {
    id: Id,
    email: String,
    display_name: Option<String>,
    role: String,
    organisation_id: Option<Id>,
    language: String,
    invited_by: Option<Id>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    accepted_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
    user_id: Option<Id>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = ApiError;
    fn try_from(r: InvitationRow) -> Result<Self, ApiError> {
        let status = if r.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if r.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if r.expires_at <= now() {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        };
        Ok(Invitation {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role.parse()?,
            organisation_id: r.organisation_id,
            language: r.language.parse()?,
            status,
            invited_by: r.invited_by,
            created_at: r.created_at.and_utc(),
            expires_at: r.expires_at.and_utc(),
            accepted_at: r.accepted_at.map(|t| t.and_utc()),
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
            user_id: r.user_id,
        })
    }
}

/// What an invitation is sent with: a new one's row, and what renewing an open one rewrites.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = i, treat_none_as_default_value = false, treat_none_as_null = true)]
struct InvitationValues<'a> {
    display_name: Option<&'a str>,
    role: &'a str,
    organisation_id: Option<&'a Id>,
    language: &'a str,
    token_hash: &'a str,
    invited_by: Option<&'a str>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Invitation, ApiError> {
    i::table
        .filter(i::id.eq(id))
        .select(InvitationRow::as_select())
        .first::<InvitationRow>(conn)?
        .try_into()
}

/// Invites a person (admins): validates, replaces any open invitation for the same address
/// (its old link stops working), and queues the message with a new one-time link.
pub fn invite(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    req: CreateInvitation,
) -> Result<Invitation, ApiError> {
    let email = normalise_email(&req.email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.optional_text("display_name", req.display_name.as_deref(), 200);
    crate::users::repo::check_links(
        conn,
        &mut v,
        "",
        req.role,
        req.organisation_id.as_deref(),
        None,
    )?;
    v.finish()?;
    crate::users::repo::check_email_free(conn, &email)?;
    let token = random_token();
    let t = now();
    let expires = t + VALID_FOR;
    let language = req.language.unwrap_or_default();
    let display_name = req
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let open: Option<Id> = i::table
        .filter(i::email.eq(&email))
        .filter(i::accepted_at.is_null())
        .filter(i::revoked_at.is_null())
        .select(i::id)
        .first(conn)
        .optional()?;
    let hash = token_hash(&token);
    let values = InvitationValues {
        display_name: display_name.as_deref(),
        role: req.role.as_str(),
        organisation_id: req.organisation_id.as_ref(),
        language: language.as_str(),
        token_hash: &hash,
        invited_by: caller.author(),
        created_at: t,
        expires_at: expires,
    };
    let (id, action) = match open {
        Some(id) => {
            diesel::update(i::table.filter(i::id.eq(&id)))
                .set(values)
                .execute(conn)?;
            (id, "invitation.renewed")
        }
        None => {
            let id = Id::new();
            diesel::insert_into(i::table)
                .values((i::id.eq(&id), i::email.eq(&email), values))
                .execute(conn)?;
            (id, "invitation.created")
        }
    };
    let organisation: Option<String> = match &req.organisation_id {
        Some(org) => Some(o::table.filter(o::id.eq(org)).select(o::name).first(conn)?),
        None => None,
    };
    let inviter: String = match caller.author() {
        Some(uid) => u::table
            .filter(u::id.eq(uid))
            .select(u::display_name)
            .first(conn)?,
        None => "Oslo Cancer Cluster".into(),
    };
    let to = Recipient {
        email: email.clone(),
        name: display_name,
        user_id: None,
        language,
    };
    let values = json!({
        "inviter": inviter,
        "role": role_label(language, req.role),
        "organisation": organisation,
        "link": mailer.link(&format!("/invitations/{token}")),
        "expires_on": expires.date().to_string(),
    });
    enqueue(conn, mailer, Kind::Invitation, &to, values)?;
    let invitation = find(conn, &id)?;
    audit::record(
        conn,
        &caller.actor(),
        action,
        "invitation",
        &id,
        diff(None, Some(&json!(invitation))),
    )?;
    Ok(invitation)
}

#[derive(Debug, Default, Clone)]
pub struct InvitationFilter {
    pub status: Option<InvitationStatus>,
    pub email: Option<String>,
}

/// Newest first.
pub fn list(
    conn: &mut DbConn,
    f: &InvitationFilter,
    page: &PageRequest,
) -> Result<Page<Invitation>, ApiError> {
    let t = now();
    let mut q = i::table.select(InvitationRow::as_select()).into_boxed();
    match f.status {
        Some(InvitationStatus::Pending) => {
            q = q
                .filter(i::accepted_at.is_null())
                .filter(i::revoked_at.is_null())
                .filter(i::expires_at.gt(t));
        }
        Some(InvitationStatus::Expired) => {
            q = q
                .filter(i::accepted_at.is_null())
                .filter(i::revoked_at.is_null())
                .filter(i::expires_at.le(t));
        }
        Some(InvitationStatus::Accepted) => q = q.filter(i::accepted_at.is_not_null()),
        Some(InvitationStatus::Revoked) => q = q.filter(i::revoked_at.is_not_null()),
        None => {}
    }
    if let Some(email) = &f.email {
        q = q.filter(i::email.eq(normalise_email(email)));
    }
    if let Some(after) = page.after_one() {
        q = q.filter(i::id.lt(after.to_owned()));
    }
    let rows: Vec<InvitationRow> = q.order(i::id.desc()).limit(page.fetch()).load(conn)?;
    let rows = rows
        .into_iter()
        .map(Invitation::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], |r| r))
}

/// Revokes an open invitation: its link stops working.
pub fn revoke(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Invitation, ApiError> {
    let before = find(conn, id)?;
    if before.status == InvitationStatus::Accepted {
        return Err(ApiError::conflict(
            "the invitation was already accepted; deactivate the account instead",
        ));
    }
    if before.revoked_at.is_none() {
        diesel::update(
            i::table
                .filter(i::id.eq(id))
                .filter(i::revoked_at.is_null()),
        )
        .set(i::revoked_at.eq(now()))
        .execute(conn)?;
        audit::record(
            conn,
            &caller.actor(),
            "invitation.revoked",
            "invitation",
            id,
            json!({"status": {"from": before.status, "to": "revoked"}}),
        )?;
    }
    find(conn, id)
}

fn invalid_link() -> ApiError {
    ApiError::NotFound
}

/// The open invitation behind a token (404 for unknown, used, revoked or expired links).
pub fn open_by_token(conn: &mut DbConn, token: &str) -> Result<Invitation, ApiError> {
    let row: Option<InvitationRow> = i::table
        .filter(i::token_hash.eq(token_hash(token)))
        .select(InvitationRow::as_select())
        .first(conn)
        .optional()?;
    let invitation = row
        .map(Invitation::try_from)
        .transpose()?
        .ok_or_else(invalid_link)?;
    if invitation.status != InvitationStatus::Pending {
        return Err(invalid_link());
    }
    Ok(invitation)
}

/// Accepts an invitation: the first use wins by a conditional update, then the account is made
/// with the invited role and organisation. `hash` is the chosen password's hash.
pub fn accept(
    conn: &mut DbConn,
    token: &str,
    display_name: &str,
    password: &str,
    hash: &str,
) -> Result<crate::users::model::User, ApiError> {
    let invitation = open_by_token(conn, token)?;
    let t = now();
    let claimed = diesel::update(
        i::table
            .filter(i::id.eq(&invitation.id))
            .filter(i::accepted_at.is_null())
            .filter(i::revoked_at.is_null())
            .filter(i::expires_at.gt(t)),
    )
    .set(i::accepted_at.eq(t))
    .execute(conn)?;
    if claimed == 0 {
        return Err(invalid_link());
    }
    let req = CreateUser {
        email: invitation.email.clone(),
        display_name: display_name.to_owned(),
        role: invitation.role,
        organisation_id: invitation.organisation_id.clone(),
        person_id: None,
        password: password.to_owned(),
        language: Some(invitation.language),
    };
    let user_id = Id::new();
    let email = crate::users::repo::validate_new(conn, &user_id, &req)?;
    let actor = crate::core::Actor::user(&user_id, None);
    let user = crate::users::repo::insert(conn, &actor, &user_id, &email, &req, hash)?;
    diesel::update(i::table.filter(i::id.eq(&invitation.id)))
        .set(i::user_id.eq(&user.id))
        .execute(conn)?;
    audit::record(
        conn,
        &actor,
        "invitation.accepted",
        "invitation",
        &invitation.id,
        json!({"user_id": {"from": null, "to": user.id}}),
    )?;
    Ok(user)
}

/// Validates what the invitee chose, before their password is hashed.
pub fn check_acceptance(
    invitation: &Invitation,
    display_name: &str,
    password: &str,
) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("display_name", display_name, 200);
    crate::auth::password::check_password_rules(
        &mut v,
        "password",
        password,
        Some(&invitation.email),
    );
    v.finish()
}
