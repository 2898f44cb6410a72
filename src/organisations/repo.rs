//! Organisations in the database. Every write runs inside the caller's transaction and writes its
//! audit event there too.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    CreateMembershipChange, HealthRegion, MembershipChange, MembershipStatus, Organisation,
    OrganisationKind, Sector, UpdateOrganisation, membership_dates, validate,
};
use crate::audit::{self, diff};
use crate::auth::Caller;
use crate::auth::policy::{self, OrgFacts, Visibility};
use crate::core::{Id, now};
use crate::db::functions::fold_case;
use crate::db::functions::lower;
use crate::db::{DbConn, TextSearch, seek_after, text_search};
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::notifications::templates::status_label;
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{membership_changes as mc, organisations as o};
use crate::webhooks::{self, EventType};

/// An organisation as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = o)]
struct OrgRow {
    id: Id,
    name: String,
    short_name: Option<String>,
    kind: OrganisationKind,
    sector: Sector,
    org_number: Option<String>,
    country: String,
    website: Option<String>,
    health_region: Option<HealthRegion>,
    trial_site: bool,
    membership_status: MembershipStatus,
    founding_partner: bool,
    joined_on: Option<NaiveDate>,
    left_on: Option<NaiveDate>,
    archived_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl From<OrgRow> for Organisation {
    fn from(r: OrgRow) -> Self {
        Organisation {
            id: r.id,
            name: r.name,
            short_name: r.short_name,
            kind: r.kind,
            sector: r.sector,
            org_number: r.org_number,
            country: r.country,
            website: r.website,
            health_region: r.health_region,
            trial_site: r.trial_site,
            membership_status: r.membership_status,
            founding_partner: r.founding_partner,
            joined_on: r.joined_on,
            left_on: r.left_on,
            archived_at: r.archived_at.map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            version: r.version,
        }
    }
}

/// The columns a create writes and a PATCH may change (the membership status and dates change
/// only through membership changes, `archived_at` through archiving).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = o, treat_none_as_null = true)]
struct OrgFields<'a> {
    name: &'a str,
    short_name: Option<&'a str>,
    kind: OrganisationKind,
    sector: Sector,
    org_number: Option<&'a str>,
    country: &'a str,
    website: Option<&'a str>,
    health_region: Option<HealthRegion>,
    trial_site: bool,
    founding_partner: bool,
    updated_at: NaiveDateTime,
}

impl<'a> OrgFields<'a> {
    fn of(org: &'a Organisation, updated_at: NaiveDateTime) -> Self {
        OrgFields {
            name: &org.name,
            short_name: org.short_name.as_deref(),
            kind: org.kind,
            sector: org.sector,
            org_number: org.org_number.as_deref(),
            country: &org.country,
            website: org.website.as_deref(),
            health_region: org.health_region,
            trial_site: org.trial_site,
            founding_partner: org.founding_partner,
            updated_at,
        }
    }
}

impl Organisation {
    pub fn facts(&self) -> OrgFacts<'_> {
        OrgFacts {
            id: &self.id,
            status: self.membership_status,
            trial_site: self.trial_site,
            archived: self.archived_at.is_some(),
        }
    }
}

/// Loads an organisation regardless of who asks (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Organisation, ApiError> {
    o::table
        .filter(o::id.eq(id))
        .select(OrgRow::as_select())
        .first::<OrgRow>(conn)
        .map(Organisation::from)
        .map_err(ApiError::from)
}

/// The company named by a drug or an agreement (`organisation_id`) must exist, not be archived,
/// and be a pharma or biotech company; `refusal` says so for the caller's record.
pub fn check_company(conn: &mut DbConn, org_id: &str, refusal: &str) -> Result<(), ApiError> {
    let org: Option<(OrganisationKind, Option<NaiveDateTime>)> = o::table
        .filter(o::id.eq(org_id))
        .select((o::kind, o::archived_at))
        .load(conn)?
        .into_iter()
        .next();
    match org {
        None => Err(ApiError::invalid(
            "organisation_id",
            "not_found",
            "no such organisation",
        )),
        Some((_, Some(_))) => Err(ApiError::invalid(
            "organisation_id",
            "archived",
            "the organisation is archived",
        )),
        Some((kind, None))
            if !matches!(kind, OrganisationKind::Pharma | OrganisationKind::Biotech) =>
        {
            Err(ApiError::invalid(
                "organisation_id",
                "not_a_company",
                refusal,
            ))
        }
        Some(_) => Ok(()),
    }
}

/// Loads an organisation the caller may see (404 otherwise).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Organisation, ApiError> {
    let org = find(conn, id)?;
    policy::see_organisation(caller, &org.facts())?;
    Ok(org)
}

/// Friendly 409s for the unique fields, before the database's own constraint would answer.
fn check_unique(conn: &mut DbConn, org: &Organisation) -> Result<(), ApiError> {
    let same_name: i64 = o::table
        .filter(lower(o::name).eq(org.name.to_lowercase()))
        .filter(o::id.ne(&org.id))
        .count()
        .get_result(conn)?;
    if same_name > 0 {
        // Say only that the value is taken: the other record may be one the caller cannot see.
        return Err(ApiError::conflict(
            "the name is taken by another organisation",
        ));
    }
    if let Some(n) = &org.org_number {
        let same: i64 = o::table
            .filter(o::org_number.eq(n))
            .filter(o::id.ne(&org.id))
            .count()
            .get_result(conn)?;
        if same > 0 {
            return Err(ApiError::conflict(
                "the organisation number is taken by another organisation",
            ));
        }
    }
    Ok(())
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    org: Organisation,
) -> Result<Organisation, ApiError> {
    validate(&org)?;
    check_unique(conn, &org)?;
    let t = org.created_at.naive_utc();
    diesel::insert_into(o::table)
        .values((
            o::id.eq(&org.id),
            OrgFields::of(&org, t),
            o::membership_status.eq(org.membership_status),
            o::created_at.eq(t),
            o::version.eq(1),
        ))
        .execute(conn)?;
    audit::created(conn, &caller.actor(), "organisation", &org.id, &org)?;
    find(conn, &org.id)
}

/// Applies a PATCH: visibility, then who may edit which fields, then `If-Match`, then the rules,
/// then a conditional update on the version (so two instances cannot both win).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateOrganisation,
) -> Result<Organisation, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::edit_organisation_profile(caller, id)?;
    policy::edit_admin_only_fields(caller, &patch.admin_only_fields())?;
    if before.archived_at.is_some() {
        return Err(ApiError::conflict(
            "the organisation is archived; restore it before editing",
        ));
    }
    if_match.check(before.version)?;
    let after = patch.apply(&before);
    validate(&after)?;
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    check_unique(conn, &after)?;
    won_race(
        diesel::update(
            o::table
                .filter(o::id.eq(id))
                .filter(o::version.eq(before.version)),
        )
        .set((
            OrgFields::of(&after, now()),
            o::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::updated(conn, &caller.actor(), "organisation", id, changes)?;
    find(conn, id)
}

/// Archives (`archived = true`) or restores an organisation (admins only).
pub fn set_archived(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    archived: bool,
) -> Result<Organisation, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::archive_organisation(caller)?;
    if_match.check(before.version)?;
    if before.archived_at.is_some() == archived {
        return Ok(before);
    }
    let stamp = archived.then(now);
    won_race(
        diesel::update(
            o::table
                .filter(o::id.eq(id))
                .filter(o::version.eq(before.version)),
        )
        .set((
            o::archived_at.eq(stamp),
            o::updated_at.eq(now()),
            o::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    let action = if archived {
        "organisation.archived"
    } else {
        "organisation.restored"
    };
    audit::record(
        conn,
        &caller.actor(),
        action,
        "organisation",
        id,
        json!({"archived": {"from": !archived, "to": archived}}),
    )?;
    find(conn, id)
}

/// Filters for the organisation list.
#[derive(Debug, Default, Clone)]
pub struct OrgFilter {
    pub kind: Option<OrganisationKind>,
    pub membership_status: Option<Vec<MembershipStatus>>,
    pub health_region: Option<HealthRegion>,
    pub trial_site: Option<bool>,
    pub founding_partner: Option<bool>,
    pub country: Option<String>,
    pub q: Option<String>,
    pub include_archived: bool,
}

/// How `q` narrows the list: by name, short name or organisation number.
fn search(conn: &mut DbConn, f: &OrgFilter) -> Result<Option<TextSearch>, ApiError> {
    Ok(text_search(
        conn,
        f.q.as_deref(),
        "organisations",
        "organisation_id",
    )?)
}

fn filtered<'a>(
    vis: &Visibility,
    f: &OrgFilter,
    search: Option<TextSearch>,
) -> o::BoxedQuery<'a, crate::db::MultiBackend> {
    let mut q = o::table.into_boxed();
    if let Some(listed) = policy::organisations_listed(vis, f.include_archived) {
        q = q.filter(listed);
    }
    if let Some(v) = f.kind {
        q = q.filter(o::kind.eq(v));
    }
    if let Some(v) = &f.membership_status {
        q = q.filter(o::membership_status.eq_any(v.clone()));
    }
    if let Some(v) = f.health_region {
        q = q.filter(o::health_region.eq(v));
    }
    if let Some(v) = f.trial_site {
        q = q.filter(o::trial_site.eq(v));
    }
    if let Some(v) = f.founding_partner {
        q = q.filter(o::founding_partner.eq(v));
    }
    if let Some(v) = &f.country {
        q = q.filter(o::country.eq(v.clone()));
    }
    match search {
        Some(TextSearch::Ids(ids)) => q = q.filter(o::id.eq_any(ids)),
        Some(TextSearch::Like(pattern)) => {
            q = q.filter(
                fold_case(o::name.nullable())
                    .like(pattern.clone())
                    .escape('\\')
                    .or(fold_case(o::short_name).like(pattern.clone()).escape('\\'))
                    .or(o::org_number.assume_not_null().like(pattern).escape('\\')),
            );
        }
        None => {}
    }
    q
}

/// A page of organisations the caller may see, sorted by name.
pub fn list(
    conn: &mut DbConn,
    vis: &Visibility,
    f: &OrgFilter,
    page: &PageRequest,
) -> Result<Page<Organisation>, ApiError> {
    let q = seek_after!(
        filtered(vis, f, search(conn, f)?),
        page.after_two(),
        o::name,
        o::id
    );
    let rows: Vec<OrgRow> = q
        .order((o::name.asc(), o::id.asc()))
        .limit(page.fetch())
        .select(OrgRow::as_select())
        .load(conn)?;
    Ok(page.page(
        rows,
        |r| vec![r.name.clone(), r.id.to_string()],
        Organisation::from,
    ))
}

/// Every organisation matching the filters (for CSV export), sorted by name.
pub fn export(
    conn: &mut DbConn,
    vis: &Visibility,
    f: &OrgFilter,
) -> Result<Vec<Organisation>, ApiError> {
    let rows: Vec<OrgRow> = filtered(vis, f, search(conn, f)?)
        .order((o::name.asc(), o::id.asc()))
        .limit(100_000)
        .select(OrgRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Organisation::from).collect())
}

/// A membership change as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = mc)]
struct ChangeRow {
    id: Id,
    organisation_id: Id,
    from_status: MembershipStatus,
    to_status: MembershipStatus,
    effective_date: NaiveDate,
    reason: String,
    decision_reference: Option<String>,
    decision_id: Option<Id>,
    changed_by: Option<Id>,
    recorded_at: NaiveDateTime,
}

impl From<ChangeRow> for MembershipChange {
    fn from(r: ChangeRow) -> Self {
        MembershipChange {
            id: r.id,
            organisation_id: r.organisation_id,
            from_status: r.from_status,
            to_status: r.to_status,
            effective_date: r.effective_date,
            reason: r.reason,
            decision_reference: r.decision_reference,
            decision_id: r.decision_id,
            changed_by: r.changed_by,
            recorded_at: r.recorded_at.and_utc(),
        }
    }
}

/// A new membership change's row.
#[derive(Insertable)]
#[diesel(table_name = mc, treat_none_as_default_value = false)]
struct NewChange<'a> {
    id: &'a Id,
    organisation_id: &'a str,
    from_status: MembershipStatus,
    to_status: MembershipStatus,
    effective_date: NaiveDate,
    reason: &'a str,
    decision_reference: Option<&'a str>,
    decision_id: Option<&'a str>,
    changed_by: Option<&'a str>,
    recorded_at: NaiveDateTime,
}

/// The membership history, oldest first.
pub fn history(
    conn: &mut DbConn,
    caller: &Caller,
    org_id: &str,
    page: &PageRequest,
) -> Result<Page<MembershipChange>, ApiError> {
    let org = find(conn, org_id)?;
    policy::see_organisation(caller, &org.facts())?;
    policy::see_membership_history(caller, org_id)?;
    let mut q = mc::table
        .filter(mc::organisation_id.eq(org_id.to_owned()))
        .into_boxed();
    if let Some(after) = page.after_one() {
        q = q.filter(mc::id.gt(after.to_owned()));
    }
    let rows: Vec<ChangeRow> = q
        .order(mc::id.asc())
        .limit(page.fetch())
        .select(ChangeRow::as_select())
        .load(conn)?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], MembershipChange::from))
}

/// Records a change of membership status (admins only): the transition must be allowed from the
/// current status, the status is changed by a conditional update on the status read (so of two
/// concurrent changes one wins and the other gets 409), the history row is checked by the
/// database's own transition constraint, and joined/left dates follow.
pub fn change_membership(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    org_id: &str,
    req: CreateMembershipChange,
    today: NaiveDate,
) -> Result<(MembershipChange, Organisation), ApiError> {
    let org = get_visible(conn, caller, org_id)?;
    policy::change_membership(caller)?;
    if org.archived_at.is_some() {
        return Err(ApiError::conflict(
            "the organisation is archived; restore it before changing its membership",
        ));
    }
    let last: Option<NaiveDate> = mc::table
        .filter(mc::organisation_id.eq(org_id))
        .select(diesel::dsl::max(mc::effective_date))
        .first(conn)?;
    let from = org.membership_status;
    req.validate(from, last, today)?;
    let cited = match &req.decision_id {
        Some(d) => Some(cited_decision(
            conn,
            d.as_str(),
            DecisionSubject::Organisation(org_id),
        )?),
        None => None,
    };
    let decision_reference = req
        .decision_reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .or(cited.as_ref().and_then(|c| c.as_deref()));
    let (joined, left) = membership_dates(
        from,
        req.to_status,
        req.effective_date,
        org.joined_on,
        org.left_on,
    );
    let updated = diesel::update(
        o::table
            .filter(o::id.eq(org_id))
            .filter(o::membership_status.eq(from)),
    )
    .set((
        o::membership_status.eq(req.to_status),
        o::joined_on.eq(joined),
        o::left_on.eq(left),
        o::updated_at.eq(now()),
        o::version.eq(o::version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict(
            "the membership status changed meanwhile; reload and try again",
        ));
    }
    let id = Id::new();
    diesel::insert_into(mc::table)
        .values(NewChange {
            id: &id,
            organisation_id: org_id,
            from_status: from,
            to_status: req.to_status,
            effective_date: req.effective_date,
            reason: req.reason.trim(),
            decision_reference,
            decision_id: req.decision_id.as_ref().map(|d| d.as_str()),
            changed_by: caller.author(),
            recorded_at: now(),
        })
        .execute(conn)?;
    let after = find(conn, org_id)?;
    let mut changes = diff(Some(&json!(org)), Some(&json!(after)));
    if let Some(map) = changes.as_object_mut() {
        map.insert("membership_change_id".into(), json!(id));
        map.insert("reason".into(), json!(req.reason.trim()));
    }
    audit::record(
        conn,
        &caller.actor(),
        "membership.changed",
        "organisation",
        org_id,
        changes,
    )?;
    webhooks::emit(
        conn,
        EventType::MembershipChanged,
        json!({
            "organisation_id": org_id,
            "name": after.name,
            "from_status": from,
            "to_status": req.to_status,
            "effective_date": req.effective_date,
            "membership_change_id": id,
            "decision_id": req.decision_id,
        }),
    )?;
    notify_representatives(
        conn,
        mailer,
        &after,
        from,
        req.to_status,
        req.effective_date,
    )?;
    let change = mc::table
        .filter(mc::id.eq(&id))
        .select(ChangeRow::as_select())
        .first::<ChangeRow>(conn)
        .map(MembershipChange::from)?;
    Ok((change, after))
}

/// Tells the organisation's representatives of a change of its membership status (an optional
/// message: each follows their own preference and language).
fn notify_representatives(
    conn: &mut DbConn,
    mailer: &Mailer,
    org: &Organisation,
    from: MembershipStatus,
    to: MembershipStatus,
    effective: NaiveDate,
) -> Result<(), ApiError> {
    for rep in crate::notifications::repo::representatives(conn, &org.id)? {
        let values = json!({
            "organisation": org.name,
            "from_status": status_label(rep.language, from),
            "to_status": status_label(rep.language, to),
            "to_status_code": to.as_str(),
            "effective_date": effective.to_string(),
        });
        enqueue(conn, mailer, Kind::MembershipChanged, &rep, values)?;
    }
    Ok(())
}

/// A cited decision's status, subjects and reference.
type CitedRow = (
    crate::core::DecisionStatus,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// What a cited decision must be about.
pub enum DecisionSubject<'a> {
    Organisation(&'a str),
    Agreement(&'a str),
}

/// A decision a membership change or an agreement's transition cites: it must exist, be adopted
/// (as stored: a vote past its deadline counts once the worker stored its close, within a minute)
/// and be about that organisation or agreement, else 422 on `decision_id`. Returns its reference.
/// The decisions module sits above this one, so the table is read here directly.
pub fn cited_decision(
    conn: &mut DbConn,
    decision_id: &str,
    subject: DecisionSubject<'_>,
) -> Result<Option<String>, ApiError> {
    use crate::core::DecisionStatus;
    use crate::schema::decisions as dd;
    let row: Option<CitedRow> = dd::table
        .filter(dd::id.eq(decision_id))
        .select((
            dd::status,
            dd::subject_organisation_id,
            dd::subject_agreement_id,
            dd::reference,
        ))
        .first(conn)
        .optional()?;
    let Some((status, org, agreement, reference)) = row else {
        return Err(ApiError::invalid(
            "decision_id",
            "not_found",
            "no such decision",
        ));
    };
    if status != DecisionStatus::Adopted {
        return Err(ApiError::invalid(
            "decision_id",
            "not_adopted",
            format!("the decision is {status}: only an adopted decision approves a change"),
        ));
    }
    let about = match subject {
        DecisionSubject::Organisation(id) => org.as_deref() == Some(id),
        DecisionSubject::Agreement(id) => agreement.as_deref() == Some(id),
    };
    if !about {
        return Err(ApiError::invalid(
            "decision_id",
            "other_subject",
            match subject {
                DecisionSubject::Organisation(_) => "the decision is not about this organisation",
                DecisionSubject::Agreement(_) => "the decision is not about this agreement",
            },
        ));
    }
    Ok(reference)
}
