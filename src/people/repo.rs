use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Person, UpdatePerson, validate};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, Visibility};
use crate::core::{Id, now};
use crate::db::functions::fold_case;
use crate::db::{DbConn, MultiBackend, TextSearch, seek_after, text_search};
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::schema::{organisations as o, people as p, users as u};

/// A person as stored, with the id of their account (if any) from the left join on users.
#[derive(Queryable, Selectable)]
#[diesel(table_name = p)]
struct PersonRow {
    id: Id,
    organisation_id: Option<Id>,
    name: String,
    email: String,
    title: Option<String>,
    phone: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
    #[diesel(select_expression = u::id.nullable())]
    user_id: Option<Id>,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        Person {
            id: r.id,
            organisation_id: r.organisation_id,
            name: r.name,
            email: r.email,
            title: r.title,
            phone: r.phone,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            version: r.version,
            user_id: r.user_id,
        }
    }
}

/// The columns a create writes and an update may change (`None` clears an optional field).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = p, treat_none_as_null = true)]
struct PersonFields<'a> {
    organisation_id: Option<&'a Id>,
    name: &'a str,
    email: &'a str,
    title: Option<&'a str>,
    phone: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> PersonFields<'a> {
    fn of(person: &'a Person, updated_at: NaiveDateTime) -> Self {
        PersonFields {
            organisation_id: person.organisation_id.as_ref(),
            name: &person.name,
            email: &person.email,
            title: person.title.as_deref(),
            phone: person.phone.as_deref(),
            updated_at,
        }
    }
}

fn person_query() -> PersonQuery {
    p::table
        .left_join(u::table.on(u::person_id.eq(p::id.nullable())))
        .select(PersonRow::as_select())
}

type PersonQuery = diesel::helper_types::Select<
    diesel::helper_types::LeftJoinOn<
        p::table,
        u::table,
        diesel::helper_types::Eq<u::person_id, diesel::helper_types::Nullable<p::id>>,
    >,
    diesel::helper_types::AsSelect<PersonRow, MultiBackend>,
>;

/// Whether the person's organisation is a visible member (partner or observer, not archived).
fn org_is_member(conn: &mut DbConn, org_id: Option<&str>) -> Result<bool, ApiError> {
    let Some(org_id) = org_id else {
        return Ok(false);
    };
    let n: i64 = o::table
        .filter(o::id.eq(org_id))
        .filter(policy::member_organisations())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Person, ApiError> {
    Ok(person_query()
        .filter(p::id.eq(id))
        .first::<PersonRow>(conn)?
        .into())
}

pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Person, ApiError> {
    let person = find(conn, id)?;
    let member = org_is_member(conn, person.organisation_id.as_deref())?;
    if policy::person_visible(caller, person.organisation_id.as_deref(), member) {
        Ok(person)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The organisation a contact is placed at must exist and not be archived.
fn check_organisation(conn: &mut DbConn, org_id: Option<&str>) -> Result<(), ApiError> {
    if let Some(id) = org_id {
        let archived: Option<Option<NaiveDateTime>> = o::table
            .filter(o::id.eq(id))
            .select(o::archived_at)
            .first(conn)
            .optional()?;
        match archived {
            None => {
                return Err(ApiError::invalid(
                    "organisation_id",
                    "not_found",
                    "no such organisation",
                ));
            }
            Some(Some(_)) => {
                return Err(ApiError::invalid(
                    "organisation_id",
                    "archived",
                    "the organisation is archived",
                ));
            }
            Some(None) => {}
        }
    }
    Ok(())
}

fn check_unique_email(conn: &mut DbConn, person: &Person) -> Result<(), ApiError> {
    let n: i64 = p::table
        .filter(p::email.eq(&person.email))
        .filter(p::id.ne(&person.id))
        .count()
        .get_result(conn)?;
    if n > 0 {
        // Say only that the value is taken: the other contact may be one the caller cannot see.
        return Err(ApiError::conflict(
            "the e-mail address is taken by another contact",
        ));
    }
    Ok(())
}

pub fn create(conn: &mut DbConn, caller: &Caller, person: Person) -> Result<Person, ApiError> {
    // Another organisation's contacts: 404 unless the caller may see it, then 403.
    if let Some(org_id) = person.organisation_id.as_deref()
        && policy::may_be_hidden(caller, org_id)
    {
        crate::organisations::repo::get_visible(conn, caller, org_id)?;
    }
    policy::edit_person(caller, person.organisation_id.as_deref())?;
    validate(&person)?;
    check_organisation(conn, person.organisation_id.as_deref())?;
    check_unique_email(conn, &person)?;
    let t = person.created_at.naive_utc();
    diesel::insert_into(p::table)
        .values((
            p::id.eq(&person.id),
            PersonFields::of(&person, t),
            p::created_at.eq(t),
            p::version.eq(1),
        ))
        .execute(conn)?;
    audit::created(conn, &caller.actor(), "person", &person.id, &person)?;
    find(conn, &person.id)
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdatePerson,
) -> Result<Person, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::edit_person(caller, before.organisation_id.as_deref())?;
    if patch.organisation_id.is_some() {
        policy::move_person(caller)?;
    }
    if_match.check(before.version)?;
    let after = patch.apply(&before);
    validate(&after)?;
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    if after.organisation_id != before.organisation_id {
        check_organisation(conn, after.organisation_id.as_deref())?;
    }
    check_unique_email(conn, &after)?;
    won_race(
        diesel::update(
            p::table
                .filter(p::id.eq(id))
                .filter(p::version.eq(before.version)),
        )
        .set((
            PersonFields::of(&after, now()),
            p::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::updated(conn, &caller.actor(), "person", id, changes)?;
    find(conn, id)
}

pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::edit_person(caller, before.organisation_id.as_deref())?;
    if_match.check(before.version)?;
    if before.user_id.is_some() {
        return Err(ApiError::conflict(
            "this person has a user account; deactivate or unlink the account first",
        ));
    }
    won_race(
        diesel::delete(
            p::table
                .filter(p::id.eq(id))
                .filter(p::version.eq(before.version)),
        )
        .execute(conn)?,
    )?;
    audit::deleted(conn, &caller.actor(), "person", id, &before)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct PeopleFilter {
    pub organisation_id: Option<Id>,
    pub has_account: Option<bool>,
    pub q: Option<String>,
}

/// How `q` narrows the list: by name or e-mail.
fn search(conn: &mut DbConn, f: &PeopleFilter) -> Result<Option<TextSearch>, ApiError> {
    Ok(text_search(conn, f.q.as_deref(), "people", "person_id")?)
}

type Boxed<'a> = diesel::helper_types::IntoBoxed<'a, PersonQuery, MultiBackend>;

fn filtered<'a>(vis: &Visibility, f: &PeopleFilter, search: Option<TextSearch>) -> Boxed<'a> {
    let mut q = person_query().into_boxed();
    if let Some(listed) = policy::people_listed(vis) {
        q =
            match listed.others {
                Some(others) => q.filter(p::organisation_id.eq(listed.own).or(
                    p::organisation_id.eq_any(o::table.filter(others).select(o::id.nullable())),
                )),
                None => q.filter(p::organisation_id.eq(listed.own)),
            };
    }
    if let Some(v) = &f.organisation_id {
        q = q.filter(p::organisation_id.eq(v.clone()));
    }
    match f.has_account {
        Some(true) => q = q.filter(u::id.nullable().is_not_null()),
        Some(false) => q = q.filter(u::id.nullable().is_null()),
        None => {}
    }
    match search {
        Some(TextSearch::Ids(ids)) => q = q.filter(p::id.eq_any(ids)),
        Some(TextSearch::Like(pattern)) => {
            q = q.filter(
                fold_case(p::name.nullable())
                    .like(pattern.clone())
                    .escape('\\')
                    .or(p::email.like(pattern).escape('\\')),
            );
        }
        None => {}
    }
    q
}

pub fn list(
    conn: &mut DbConn,
    vis: &Visibility,
    f: &PeopleFilter,
    page: &PageRequest,
) -> Result<Page<Person>, ApiError> {
    let q = seek_after!(
        filtered(vis, f, search(conn, f)?),
        page.after_two(),
        p::name,
        p::id
    );
    let rows: Vec<PersonRow> = q
        .order((p::name.asc(), p::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.page(
        rows,
        |r| vec![r.name.clone(), r.id.to_string()],
        Person::from,
    ))
}

pub fn export(
    conn: &mut DbConn,
    vis: &Visibility,
    f: &PeopleFilter,
) -> Result<Vec<Person>, ApiError> {
    let rows: Vec<PersonRow> = filtered(vis, f, search(conn, f)?)
        .order((p::name.asc(), p::id.asc()))
        .limit(100_000)
        .load(conn)?;
    Ok(rows.into_iter().map(Person::from).collect())
}
