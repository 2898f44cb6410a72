//! Drugs in the database, with their targets in `drug_targets`. Every write runs inside the
//! caller's transaction and writes its audit event there too.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Drug, DrugStatus, UpdateDrug, validate};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, DrugFacts, Visibility};
use crate::core::{Id, now};
use crate::db::functions::{fold_case, lower};
use crate::db::{DbConn, like_pattern, seek_after};
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::schema::{drug_targets as dt, drugs as d};

/// A drug as stored (its targets are read separately).
#[derive(Queryable, Selectable)]
#[diesel(table_name = d)]
struct DrugRow {
    id: Id,
    organisation_id: Id,
    generic_name: String,
    brand_name: Option<String>,
    atc_code: Option<String>,
    form: Option<String>,
    strength: Option<String>,
    status: DrugStatus,
    available_from: Option<NaiveDate>,
    notes: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl DrugRow {
    fn into_drug(self, targets: Vec<String>) -> Drug {
        Drug {
            id: self.id,
            organisation_id: self.organisation_id,
            generic_name: self.generic_name,
            brand_name: self.brand_name,
            atc_code: self.atc_code,
            form: self.form,
            strength: self.strength,
            targets,
            status: self.status,
            available_from: self.available_from,
            notes: self.notes,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

/// The columns a create writes and an update may change (`None` clears an optional field).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = d, treat_none_as_null = true)]
struct DrugFields<'a> {
    generic_name: &'a str,
    brand_name: Option<&'a str>,
    atc_code: Option<&'a str>,
    form: Option<&'a str>,
    strength: Option<&'a str>,
    status: DrugStatus,
    available_from: Option<NaiveDate>,
    notes: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> DrugFields<'a> {
    fn of(drug: &'a Drug, updated_at: NaiveDateTime) -> Self {
        DrugFields {
            generic_name: &drug.generic_name,
            brand_name: drug.brand_name.as_deref(),
            atc_code: drug.atc_code.as_deref(),
            form: drug.form.as_deref(),
            strength: drug.strength.as_deref(),
            status: drug.status,
            available_from: drug.available_from,
            notes: drug.notes.as_deref(),
            updated_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = dt)]
struct TargetRow<'a> {
    drug_id: &'a str,
    target: &'a str,
}

impl Drug {
    pub fn facts(&self) -> DrugFacts<'_> {
        DrugFacts {
            organisation_id: &self.organisation_id,
            status: self.status,
        }
    }
}

/// The targets of the given drugs, each drug's sorted by name.
fn targets_of(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Vec<String>>, ApiError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String)> = dt::table
        .filter(dt::drug_id.eq_any(ids))
        .select((dt::drug_id, dt::target))
        .load(conn)?;
    for (id, target) in rows {
        out.entry(id).or_default().push(target);
    }
    // Sorted here, as `clean_targets` sorts, not by the database's collation.
    out.values_mut().for_each(|t| t.sort());
    Ok(out)
}

fn with_targets(conn: &mut DbConn, rows: Vec<DrugRow>) -> Result<Vec<Drug>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut targets = targets_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = targets.remove(r.id.as_str()).unwrap_or_default();
            r.into_drug(t)
        })
        .collect())
}

/// Loads a drug regardless of who asks (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Drug, ApiError> {
    let row = d::table
        .filter(d::id.eq(id))
        .select(DrugRow::as_select())
        .first::<DrugRow>(conn)?;
    Ok(with_targets(conn, vec![row])?.remove(0))
}

/// Loads a drug the caller may see (404 otherwise).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Drug, ApiError> {
    let drug = find(conn, id)?;
    policy::see_drug(caller, &drug.facts())?;
    Ok(drug)
}

/// A friendly 409 before the unique index on (company, generic name, form, strength) would answer.
fn check_unique(conn: &mut DbConn, drug: &Drug) -> Result<(), ApiError> {
    let form = drug.form.as_deref().unwrap_or("").to_lowercase();
    let strength = drug.strength.as_deref().unwrap_or("").to_lowercase();
    let same: Vec<(Option<String>, Option<String>)> = d::table
        .filter(d::organisation_id.eq(&drug.organisation_id))
        .filter(lower(d::generic_name).eq(drug.generic_name.to_lowercase()))
        .filter(d::id.ne(&drug.id))
        .select((d::form, d::strength))
        .load(conn)?;
    let taken = same.iter().any(|(f, s)| {
        f.as_deref().unwrap_or("").to_lowercase() == form
            && s.as_deref().unwrap_or("").to_lowercase() == strength
    });
    if taken {
        // Say only that the value is taken: the other drug may be one the caller cannot see.
        return Err(ApiError::conflict(
            "the company already has a drug with this generic name, form and strength",
        ));
    }
    Ok(())
}

fn write_targets(conn: &mut DbConn, drug: &Drug) -> Result<(), ApiError> {
    diesel::delete(dt::table.filter(dt::drug_id.eq(&drug.id))).execute(conn)?;
    // One statement per target (at most 50): the multi-backend connection has no batch insert.
    for target in &drug.targets {
        diesel::insert_into(dt::table)
            .values(TargetRow {
                drug_id: &drug.id,
                target,
            })
            .execute(conn)?;
    }
    Ok(())
}

pub fn create(conn: &mut DbConn, caller: &Caller, drug: Drug) -> Result<Drug, ApiError> {
    // Another company's drugs: 404 unless the caller may see the company, then 403.
    if policy::may_be_hidden(caller, &drug.organisation_id) {
        crate::organisations::repo::get_visible(conn, caller, &drug.organisation_id)?;
    }
    policy::edit_drug(caller, &drug.organisation_id)?;
    validate(&drug)?;
    crate::organisations::repo::check_company(
        conn,
        &drug.organisation_id,
        "drugs are contributed by pharma or biotech companies",
    )?;
    check_unique(conn, &drug)?;
    let t = drug.created_at.naive_utc();
    diesel::insert_into(d::table)
        .values((
            d::id.eq(&drug.id),
            d::organisation_id.eq(&drug.organisation_id),
            DrugFields::of(&drug, t),
            d::created_at.eq(t),
            d::version.eq(1),
        ))
        .execute(conn)?;
    write_targets(conn, &drug)?;
    audit::created(conn, &caller.actor(), "drug", &drug.id, &drug)?;
    find(conn, &drug.id)
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateDrug,
) -> Result<Drug, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::edit_drug(caller, &before.organisation_id)?;
    if_match.check(before.version)?;
    let after = patch.apply(&before);
    validate(&after)?;
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    check_unique(conn, &after)?;
    won_race(
        diesel::update(
            d::table
                .filter(d::id.eq(id))
                .filter(d::version.eq(before.version)),
        )
        .set((
            DrugFields::of(&after, now()),
            d::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    if after.targets != before.targets {
        write_targets(conn, &after)?;
    }
    audit::updated(conn, &caller.actor(), "drug", id, changes)?;
    find(conn, id)
}

#[derive(Debug, Default, Clone)]
pub struct DrugsFilter {
    pub organisation_id: Option<Id>,
    pub status: Option<DrugStatus>,
    /// An ATC code or its beginning, in upper case (checked by the route).
    pub atc: Option<String>,
    pub target: Option<String>,
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    vis: &Visibility,
    f: &DrugsFilter,
    page: &PageRequest,
) -> Result<Page<Drug>, ApiError> {
    let mut q = d::table.select(DrugRow::as_select()).into_boxed();
    if let Some(listed) = policy::drugs_listed(vis) {
        q = q.filter(listed);
    }
    if let Some(v) = &f.organisation_id {
        q = q.filter(d::organisation_id.eq(v.clone()));
    }
    if let Some(v) = f.status {
        q = q.filter(d::status.eq(v));
    }
    if let Some(prefix) = &f.atc {
        // The route lets letters and digits only through, so the prefix needs no escaping.
        q = q.filter(d::atc_code.like(format!("{prefix}%")));
    }
    if let Some(target) = f.target.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q = q.filter(
            d::id.eq_any(
                dt::table
                    .filter(lower(dt::target).eq(lower(target.to_owned())))
                    .select(dt::drug_id),
            ),
        );
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q = q.filter(
            fold_case(d::generic_name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(fold_case(d::brand_name).like(pattern).escape('\\')),
        );
    }
    let q = seek_after!(q, page.after_two(), d::generic_name, d::id);
    let rows: Vec<DrugRow> = q
        .order((d::generic_name.asc(), d::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let drugs = with_targets(conn, rows)?;
    Ok(page.page(
        drugs,
        |r| vec![r.generic_name.clone(), r.id.to_string()],
        |r| r,
    ))
}
