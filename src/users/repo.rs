use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::{AuthenticatedWith, CreateUser, Me, OrganisationSummary, UpdateUser, User};
use crate::audit::{self, diff};
use crate::auth::caller::Credential;
use crate::auth::password::check_password_rules;
use crate::auth::policy;
use crate::auth::{Caller, Role, Scope};
use crate::core::{Actor, Id, now};
use crate::db::functions::fold_case;
use crate::db::{DbConn, like_pattern};
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::notifications::templates::role_label;
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{organisations as o, people as p, users as u};
use crate::validation::{Validator, normalise_email};

/// An account as stored (without its password hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = u)]
struct UserRow {
    id: Id,
    email: String,
    display_name: String,
    role: String,
    organisation_id: Option<Id>,
    person_id: Option<Id>,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    deactivated_at: Option<NaiveDateTime>,
    version: i32,
    language: String,
}

impl TryFrom<UserRow> for User {
    type Error = ApiError;
    fn try_from(r: UserRow) -> Result<Self, ApiError> {
        Ok(User {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            role: r.role.parse()?,
            organisation_id: r.organisation_id,
            person_id: r.person_id,
            active: r.active,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            deactivated_at: r.deactivated_at.map(|t| t.and_utc()),
            version: r.version,
            language: r.language.parse()?,
        })
    }
}

/// A new account's row.
#[derive(Insertable)]
#[diesel(table_name = u, treat_none_as_default_value = false)]
struct NewUser<'a> {
    id: &'a Id,
    email: &'a str,
    display_name: &'a str,
    password_hash: &'a str,
    role: &'a str,
    organisation_id: Option<&'a Id>,
    person_id: Option<&'a Id>,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    password_changed_at: NaiveDateTime,
    version: i32,
    language: &'a str,
}

/// What an admin's update writes (`None` clears an optional field).
#[derive(AsChangeset)]
#[diesel(table_name = u, treat_none_as_null = true)]
struct UserChanges<'a> {
    display_name: &'a str,
    role: &'a str,
    organisation_id: Option<&'a Id>,
    person_id: Option<&'a Id>,
    language: &'a str,
    updated_at: NaiveDateTime,
    version: i32,
}

/// A person shows the account linked to it (`user_id`): linking or unlinking one makes a new
/// version of the person, so its `ETag` changes with what it shows.
fn touch_person(conn: &mut DbConn, person: Option<&Id>) -> Result<(), ApiError> {
    if let Some(person) = person {
        diesel::update(p::table.filter(p::id.eq(person)))
            .set((p::updated_at.eq(now()), p::version.eq(p::version + 1)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<User, ApiError> {
    u::table
        .filter(u::id.eq(id))
        .select(UserRow::as_select())
        .first::<UserRow>(conn)?
        .try_into()
}

/// Role, organisation and person must fit together: admins have no organisation, representatives
/// exactly one that exists and is not archived; a linked person exists and has no other account.
pub(crate) fn check_links(
    conn: &mut DbConn,
    v: &mut Validator,
    user_id: &str,
    role: Role,
    org: Option<&str>,
    person: Option<&str>,
) -> Result<(), ApiError> {
    match (role, org) {
        (Role::Admin, Some(_)) => v.add(
            "organisation_id",
            "not_applicable",
            "admins do not belong to an organisation",
        ),
        (Role::Admin, None) => {}
        (_, None) => v.add(
            "organisation_id",
            "required",
            "representatives act for one organisation",
        ),
        (_, Some(id)) => {
            let archived: Option<Option<NaiveDateTime>> = o::table
                .filter(o::id.eq(id))
                .select(o::archived_at)
                .first(conn)
                .optional()?;
            match archived {
                None => v.add("organisation_id", "not_found", "no such organisation"),
                Some(Some(_)) => v.add(
                    "organisation_id",
                    "archived",
                    "the organisation is archived",
                ),
                Some(None) => {}
            }
        }
    }
    if let Some(pid) = person {
        let exists: i64 = p::table.filter(p::id.eq(pid)).count().get_result(conn)?;
        let taken: i64 = u::table
            .filter(u::person_id.eq(pid))
            .filter(u::id.ne(user_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            v.add("person_id", "not_found", "no such person");
        } else if taken > 0 {
            v.add("person_id", "taken", "this person already has an account");
        }
    }
    Ok(())
}

/// The number of active admins, with the set locked until the transaction ends, so that two
/// requests each demoting or deactivating one of the last two admins cannot both succeed, on one
/// instance or several. PostgreSQL locks the rows (`FOR UPDATE`: a waiting request re-reads them
/// and sees the other's change); SQLite's write transaction already holds the single writer lock.
fn active_admins_locked(conn: &mut DbConn) -> Result<i64, ApiError> {
    match conn {
        DbConn::Pg(pg) => {
            #[derive(QueryableByName)]
            struct Admin {
                #[diesel(sql_type = diesel::sql_types::Text)]
                #[allow(dead_code)]
                id: String,
            }
            let admins: Vec<Admin> =
                diesel::sql_query("SELECT id FROM users WHERE role = $1 AND active FOR UPDATE")
                    .bind::<diesel::sql_types::Text, _>(Role::Admin.as_str())
                    .load(pg)?;
            Ok(admins.len() as i64)
        }
        DbConn::Sqlite(_) => Ok(u::table
            .filter(u::role.eq(Role::Admin.as_str()))
            .filter(u::active.eq(true))
            .count()
            .get_result(conn)?),
    }
}

/// Validates a new account; returns the normalised e-mail.
pub fn validate_new(conn: &mut DbConn, id: &str, req: &CreateUser) -> Result<String, ApiError> {
    let email = normalise_email(&req.email);
    let mut v = Validator::new();
    v.email("email", &email);
    v.text("display_name", &req.display_name, 200);
    check_password_rules(&mut v, "password", &req.password, Some(&email));
    check_links(
        conn,
        &mut v,
        id,
        req.role,
        req.organisation_id.as_deref(),
        req.person_id.as_deref(),
    )?;
    v.finish()?;
    check_email_free(conn, &email)?;
    Ok(email)
}

/// 409 when an account (of any state) has this e-mail address: one address, one account.
pub fn check_email_free(conn: &mut DbConn, email: &str) -> Result<(), ApiError> {
    let taken: i64 = u::table
        .filter(u::email.eq(email))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::conflict(format!(
            "an account for {email} already exists"
        )));
    }
    Ok(())
}

/// Inserts an account whose request was validated and whose password was hashed.
pub fn insert(
    conn: &mut DbConn,
    actor: &Actor,
    id: &Id,
    email: &str,
    req: &CreateUser,
    hash: &str,
) -> Result<User, ApiError> {
    // Re-checked inside the write transaction: the first look was outside it.
    validate_new(conn, id, req)?;
    let t = now();
    diesel::insert_into(u::table)
        .values(NewUser {
            id,
            email,
            display_name: req.display_name.trim(),
            password_hash: hash,
            role: req.role.as_str(),
            organisation_id: req.organisation_id.as_ref(),
            person_id: req.person_id.as_ref(),
            active: true,
            created_at: t,
            updated_at: t,
            password_changed_at: t,
            version: 1,
            language: req.language.unwrap_or_default().as_str(),
        })
        .execute(conn)?;
    touch_person(conn, req.person_id.as_ref())?;
    let user = find(conn, id)?;
    audit::record(
        conn,
        actor,
        "user.created",
        "user",
        id,
        diff(None, Some(&json!(user))),
    )?;
    Ok(user)
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub organisation_id: Option<Id>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

pub fn list(conn: &mut DbConn, f: &UserFilter, page: &PageRequest) -> Result<Page<User>, ApiError> {
    let mut q = u::table.select(UserRow::as_select()).into_boxed();
    if let Some(r) = f.role {
        q = q.filter(u::role.eq(r.as_str()));
    }
    if let Some(v) = &f.organisation_id {
        q = q.filter(u::organisation_id.eq(v.clone()));
    }
    if let Some(v) = f.active {
        q = q.filter(u::active.eq(v));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q = q.filter(
            u::email
                .like(pattern.clone())
                .escape('\\')
                .or(fold_case(u::display_name.nullable())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    if let Some(after) = page.after_one() {
        q = q.filter(u::id.gt(after.to_owned()));
    }
    let rows: Vec<UserRow> = q.order(u::id.asc()).limit(page.fetch()).load(conn)?;
    let rows = rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], |r| r))
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    if_match: &IfMatch,
    req: UpdateUser,
) -> Result<User, ApiError> {
    let before = find(conn, id)?;
    if_match.check(before.version)?;
    let role = req.role.unwrap_or(before.role);
    let org = match req.organisation_id {
        Some(v) => v,
        None if role == Role::Admin && before.role != Role::Admin => None,
        None => before.organisation_id.clone(),
    };
    let person = req.person_id.unwrap_or_else(|| before.person_id.clone());
    let name = req
        .display_name
        .map(|n| n.trim().to_owned())
        .unwrap_or_else(|| before.display_name.clone());
    let language = req.language.unwrap_or(before.language);
    let mut v = Validator::new();
    v.text("display_name", &name, 200);
    check_links(conn, &mut v, id, role, org.as_deref(), person.as_deref())?;
    v.finish()?;
    if name == before.display_name
        && role == before.role
        && org == before.organisation_id
        && person == before.person_id
        && language == before.language
    {
        // Nothing changes (`PATCH {}`, or the same values): no new version, no audit event.
        return Ok(before);
    }
    if before.role == Role::Admin
        && role != Role::Admin
        && before.active
        && active_admins_locked(conn)? <= 1
    {
        return Err(ApiError::conflict(
            "this is the last active admin; make another admin first",
        ));
    }
    won_race(
        diesel::update(
            u::table
                .filter(u::id.eq(id))
                .filter(u::version.eq(before.version)),
        )
        .set(UserChanges {
            display_name: &name,
            role: role.as_str(),
            organisation_id: org.as_ref(),
            person_id: person.as_ref(),
            language: language.as_str(),
            updated_at: now(),
            version: before.version + 1,
        })
        .execute(conn)?,
    )?;
    if person != before.person_id {
        touch_person(conn, before.person_id.as_ref())?;
        touch_person(conn, person.as_ref())?;
    }
    let after = find(conn, id)?;
    audit::record(
        conn,
        &caller.actor(),
        "user.updated",
        "user",
        id,
        diff(Some(&json!(before)), Some(&json!(after))),
    )?;
    if after.role != before.role {
        // A security message: it goes whatever the preferences.
        let to = crate::notifications::repo::recipient_for_user(conn, id)?;
        let values = json!({
            "old_role": role_label(to.language, before.role),
            "new_role": role_label(to.language, after.role),
        });
        enqueue(conn, mailer, Kind::RoleChanged, &to, values)?;
    }
    Ok(after)
}

/// Deactivates (ending every session at once) or reactivates an account.
pub fn set_active(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    active: bool,
) -> Result<User, ApiError> {
    let before = find(conn, id)?;
    if before.active == active {
        return Ok(before);
    }
    if !active {
        if id == caller.user_id {
            return Err(ApiError::conflict("you cannot deactivate your own account"));
        }
        if before.role == Role::Admin && active_admins_locked(conn)? <= 1 {
            return Err(ApiError::conflict(
                "this is the last active admin; make another admin first",
            ));
        }
    }
    let t = now();
    diesel::update(u::table.filter(u::id.eq(id)))
        .set((
            u::active.eq(active),
            u::deactivated_at.eq((!active).then_some(t)),
            u::updated_at.eq(t),
            u::version.eq(before.version + 1),
        ))
        .execute(conn)?;
    let mut changes = json!({"active": {"from": !active, "to": active}});
    if !active {
        // Sessions, API tokens and reset links end for good: reactivating the account brings
        // none of them back.
        let ended = crate::auth::repo::end_credentials(conn, id, None)?;
        if let (Some(changes), Some(ended)) =
            (changes.as_object_mut(), ended.audit(false).as_object())
        {
            changes.extend(ended.clone());
        }
    }
    let action = if active {
        "user.reactivated"
    } else {
        "user.deactivated"
    };
    audit::record(conn, &caller.actor(), action, "user", id, changes)?;
    find(conn, id)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = o)]
struct OrganisationSummaryRow {
    id: Id,
    name: String,
    membership_status: String,
}

pub fn me(conn: &mut DbConn, caller: &Caller) -> Result<Me, ApiError> {
    let user = find(conn, &caller.user_id)?;
    let organisation = match &user.organisation_id {
        Some(id) => {
            let row: OrganisationSummaryRow = o::table
                .filter(o::id.eq(id))
                .select(OrganisationSummaryRow::as_select())
                .first(conn)?;
            Some(OrganisationSummary {
                id: row.id,
                name: row.name,
                membership_status: row.membership_status.parse()?,
            })
        }
        None => None,
    };
    let standing = policy::standing(caller);
    let (authenticated_with, scopes) = match &caller.credential {
        Credential::Session { .. } => (
            AuthenticatedWith::Session,
            Scope::allowed_for(caller.role).to_vec(),
        ),
        Credential::ApiToken { scopes, .. } => (
            AuthenticatedWith::ApiToken,
            scopes.iter().copied().collect(),
        ),
        Credential::System => (AuthenticatedWith::System, Scope::ALL.to_vec()),
    };
    Ok(Me {
        user,
        organisation,
        standing,
        can_read_consortium: policy::can_read_consortium(caller),
        can_write_consortium: policy::can_write_consortium(caller),
        authenticated_with,
        scopes,
    })
}
