use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::json;

use super::model::{CreateInvitation, Invitation, InvitationStatus};
use crate::audit::{self, diff};
use crate::auth::{Caller, random_token, token_hash};
use crate::core::{new_id, now};
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

type Row = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

const COLUMNS: (
    i::id,
    i::email,
    i::display_name,
    i::role,
    i::organisation_id,
    i::language,
    i::invited_by,
    i::created_at,
    i::expires_at,
    i::accepted_at,
    i::revoked_at,
    i::user_id,
) = (
    i::id,
    i::email,
    i::display_name,
    i::role,
    i::organisation_id,
    i::language,
    i::invited_by,
    i::created_at,
    i::expires_at,
    i::accepted_at,
    i::revoked_at,
    i::user_id,
);

fn to_invitation(r: Row) -> Result<Invitation, ApiError> {
    let status = if r.9.is_some() {
        InvitationStatus::Accepted
    } else if r.10.is_some() {
        InvitationStatus::Revoked
    } else if r.8 <= now() {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    };
    Ok(Invitation {
        id: r.0,
        email: r.1,
        display_name: r.2,
        role: r.3.parse()?,
        organisation_id: r.4,
        language: r.5.parse()?,
        status,
        invited_by: r.6,
        created_at: r.7.and_utc(),
        expires_at: r.8.and_utc(),
        accepted_at: r.9.map(|t| t.and_utc()),
        revoked_at: r.10.map(|t| t.and_utc()),
        user_id: r.11,
    })
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Invitation, ApiError> {
    to_invitation(i::table.filter(i::id.eq(id)).select(COLUMNS).first(conn)?)
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
    let taken: i64 = u::table
        .filter(u::email.eq(&email))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::conflict(format!(
            "an account for {email} already exists"
        )));
    }
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
    let open: Option<String> = i::table
        .filter(i::email.eq(&email))
        .filter(i::accepted_at.is_null())
        .filter(i::revoked_at.is_null())
        .select(i::id)
        .first(conn)
        .optional()?;
    let (id, action) = match open {
        Some(id) => {
            diesel::update(i::table.filter(i::id.eq(&id)))
                .set((
                    i::display_name.eq(&display_name),
                    i::role.eq(req.role.as_str()),
                    i::organisation_id.eq(&req.organisation_id),
                    i::language.eq(language.as_str()),
                    i::token_hash.eq(token_hash(&token)),
                    i::invited_by.eq(caller.author()),
                    i::created_at.eq(t),
                    i::expires_at.eq(expires),
                ))
                .execute(conn)?;
            (id, "invitation.renewed")
        }
        None => {
            let id = new_id();
            diesel::insert_into(i::table)
                .values((
                    i::id.eq(&id),
                    i::email.eq(&email),
                    i::display_name.eq(&display_name),
                    i::role.eq(req.role.as_str()),
                    i::organisation_id.eq(&req.organisation_id),
                    i::language.eq(language.as_str()),
                    i::token_hash.eq(token_hash(&token)),
                    i::invited_by.eq(caller.author()),
                    i::created_at.eq(t),
                    i::expires_at.eq(expires),
                ))
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
    let mut q = i::table.select(COLUMNS).into_boxed();
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
    let rows: Vec<Row> = q.order(i::id.desc()).limit(page.fetch()).load(conn)?;
    let rows = rows
        .into_iter()
        .map(to_invitation)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(rows, |r| vec![r.id.clone()], |r| r))
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
    let row: Option<Row> = i::table
        .filter(i::token_hash.eq(token_hash(token)))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    let invitation = row
        .map(to_invitation)
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
    let user_id = new_id();
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
