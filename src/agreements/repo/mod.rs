//! `agreements` in the database: the agreement itself here, its covered drugs in [`drugs`], its
//! lifecycle in [`lifecycle`], its amendments in [`amend`], the members' summary in [`summary`]. Every write runs
//! inside the caller's transaction and writes its audit event there too. Writes that touch several
//! tables lock them in one order (the agreement row, its drug rows, then cohorts), the order the
//! allocations follow, so two transactions never wait on each other in a circle.

pub mod amend;
pub mod drugs;
pub mod lifecycle;
pub mod summary;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    Agreement, AgreementStatus, CoveredDrug, Document, Terms, UpdateAgreement, validate,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{Id, new_id, now};
use crate::db::functions::{fold_case, lower};
use crate::db::{DbConn, like_pattern, seek_after};
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{
    agreement_drugs as ad, agreement_events as ae, agreements as a, drugs as d, organisations as o,
};

/// An agreement as stored (its drugs are read separately).
#[derive(Queryable, Selectable)]
#[diesel(table_name = a)]
pub(crate) struct AgreementRow {
    pub id: Id,
    pub organisation_id: Id,
    pub reference: String,
    pub title: String,
    pub status: AgreementStatus,
    pub signed_on: Option<NaiveDate>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub patient_cap: i32,
    pub patients_used: i32,
    pub funded_weeks: i32,
    pub documents: String,
    pub notes: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl AgreementRow {
    fn into_agreement(self, drugs: Vec<CoveredDrug>) -> Result<Agreement, ApiError> {
        let documents: Vec<Document> = serde_json::from_str(&self.documents)
            .map_err(|e| ApiError::internal(format!("agreement documents: {e}")))?;
        Ok(Agreement {
            id: self.id,
            organisation_id: self.organisation_id,
            reference: self.reference,
            title: self.title,
            status: self.status,
            signed_on: self.signed_on,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            patient_cap: self.patient_cap,
            patients_used: self.patients_used,
            remaining: self.patient_cap - self.patients_used,
            funded_weeks: self.funded_weeks,
            documents,
            notes: self.notes,
            drugs,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        })
    }
}

/// The columns a create writes and a change of terms may change.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = a, treat_none_as_null = true)]
struct TermsFields<'a> {
    reference: &'a str,
    title: &'a str,
    signed_on: Option<NaiveDate>,
    effective_from: Option<NaiveDate>,
    effective_to: Option<NaiveDate>,
    patient_cap: i32,
    funded_weeks: i32,
    documents: String,
    notes: Option<&'a str>,
    updated_at: NaiveDateTime,
}

impl<'a> TermsFields<'a> {
    fn of(t: &'a Terms, updated_at: NaiveDateTime) -> Result<Self, ApiError> {
        Ok(TermsFields {
            reference: &t.reference,
            title: &t.title,
            signed_on: t.signed_on,
            effective_from: t.effective_from,
            effective_to: t.effective_to,
            patient_cap: t.patient_cap,
            funded_weeks: t.funded_weeks,
            documents: serde_json::to_string(&t.documents)
                .map_err(|e| ApiError::internal(format!("agreement documents: {e}")))?,
            notes: t.notes.as_deref(),
            updated_at,
        })
    }
}

/// A covered drug as read: agreement id, drug id, generic name, ATC code, cap, used.
type CoveredRow = (String, Id, String, Option<String>, Option<i32>, i32);

/// The drugs the given agreements cover, each agreement's by generic name: one query for a page.
fn covered_drugs_of(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<HashMap<String, Vec<CoveredDrug>>, ApiError> {
    let mut out: HashMap<String, Vec<CoveredDrug>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<CoveredRow> = ad::table
        .inner_join(d::table)
        .filter(ad::agreement_id.eq_any(ids))
        .order((d::generic_name.asc(), d::id.asc()))
        .select((
            ad::agreement_id,
            d::id,
            d::generic_name,
            d::atc_code,
            ad::patient_cap,
            ad::patients_used,
        ))
        .load(conn)?;
    for (agreement_id, drug_id, generic_name, atc_code, patient_cap, patients_used) in rows {
        out.entry(agreement_id).or_default().push(CoveredDrug {
            drug_id,
            generic_name,
            atc_code,
            patient_cap,
            patients_used,
        });
    }
    Ok(out)
}

/// The drugs an agreement covers, by generic name.
pub fn covered_drugs(conn: &mut DbConn, agreement_id: &str) -> Result<Vec<CoveredDrug>, ApiError> {
    Ok(covered_drugs_of(conn, &[agreement_id])?
        .remove(agreement_id)
        .unwrap_or_default())
}

pub(crate) fn find_row(conn: &mut DbConn, id: &str) -> Result<AgreementRow, ApiError> {
    Ok(a::table
        .filter(a::id.eq(id))
        .select(AgreementRow::as_select())
        .first::<AgreementRow>(conn)?)
}

/// Loads an agreement regardless of who asks (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Agreement, ApiError> {
    let row = find_row(conn, id)?;
    let drugs = covered_drugs(conn, id)?;
    row.into_agreement(drugs)
}

/// Loads an agreement whose terms the caller may see (404 otherwise).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Agreement, ApiError> {
    let row = find_row(conn, id)?;
    policy::see_agreement(caller, &row.organisation_id)?;
    let drugs = covered_drugs(conn, id)?;
    row.into_agreement(drugs)
}

/// A friendly 409 before the unique index on lower(reference) would answer.
fn check_reference(conn: &mut DbConn, id: &str, reference: &str) -> Result<(), ApiError> {
    let taken: i64 = a::table
        .filter(lower(a::reference).eq(reference.to_lowercase()))
        .filter(a::id.ne(id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::conflict(
            "another agreement already has this reference",
        ));
    }
    Ok(())
}

/// No covered drug's own cap may exceed the agreement's.
fn check_drug_caps(conn: &mut DbConn, id: &str, cap: i32) -> Result<(), ApiError> {
    let over: i64 = ad::table
        .filter(ad::agreement_id.eq(id))
        .filter(ad::patient_cap.gt(cap))
        .count()
        .get_result(conn)?;
    if over > 0 {
        return Err(ApiError::invalid(
            "patient_cap",
            "below_drug_cap",
            "a covered drug has a higher cap of its own than this",
        ));
    }
    Ok(())
}

/// One entry of the agreement's history.
pub(crate) struct NewEvent<'a> {
    pub agreement_id: &'a str,
    pub kind: &'a str,
    pub from: Option<AgreementStatus>,
    pub to: AgreementStatus,
    pub reason: Option<&'a str>,
    pub decision_reference: Option<&'a str>,
    pub decision_id: Option<&'a str>,
    pub changes: Option<String>,
    pub actor_user_id: Option<&'a str>,
}

pub(crate) fn record_event(conn: &mut DbConn, e: NewEvent<'_>) -> Result<(), ApiError> {
    diesel::insert_into(ae::table)
        .values((
            ae::id.eq(new_id()),
            ae::agreement_id.eq(e.agreement_id),
            ae::kind.eq(e.kind),
            ae::from_status.eq(e.from),
            ae::to_status.eq(e.to),
            ae::reason.eq(e.reason),
            ae::decision_reference.eq(e.decision_reference),
            ae::decision_id.eq(e.decision_id),
            ae::changes.eq(e.changes),
            ae::actor_user_id.eq(e.actor_user_id),
            ae::occurred_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Tells the company's representatives and the secretariat of a change of status.
pub(crate) fn notify_status(
    conn: &mut DbConn,
    mailer: &Mailer,
    agreement: &Agreement,
    from: AgreementStatus,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    let company: String = o::table
        .filter(o::id.eq(&agreement.organisation_id))
        .select(o::name)
        .first(conn)?;
    let link = mailer.link(&format!("/api/v1/agreements/{}", agreement.id));
    for to in crate::notifications::repo::company_and_secretariat(conn, &agreement.organisation_id)?
    {
        let values = json!({
            "organisation": company,
            "reference": agreement.reference,
            "title": agreement.title,
            "from_status": from.as_str(),
            "to_status": agreement.status.as_str(),
            "reason": reason,
            "link": link,
        });
        enqueue(conn, mailer, Kind::AgreementStatusChanged, &to, values)?;
    }
    Ok(())
}

pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    id: &Id,
    company: &Id,
    terms: Terms,
) -> Result<Agreement, ApiError> {
    // Another company's agreements: 404 unless the caller may see the company, then 403.
    if policy::may_be_hidden(caller, company) {
        crate::organisations::repo::get_visible(conn, caller, company)?;
    }
    policy::draft_agreement(caller, company)?;
    validate(&terms)?;
    crate::organisations::repo::check_company(
        conn,
        company,
        "agreements are made with pharma or biotech companies",
    )?;
    check_reference(conn, id, &terms.reference)?;
    let t = now();
    diesel::insert_into(a::table)
        .values((
            a::id.eq(id),
            a::organisation_id.eq(company),
            a::status.eq(AgreementStatus::Draft),
            TermsFields::of(&terms, t)?,
            a::patients_used.eq(0),
            a::created_at.eq(t),
            a::version.eq(1),
        ))
        .execute(conn)?;
    record_event(
        conn,
        NewEvent {
            agreement_id: id,
            kind: "created",
            from: None,
            to: AgreementStatus::Draft,
            reason: None,
            decision_reference: None,
            decision_id: None,
            changes: None,
            actor_user_id: caller.author(),
        },
    )?;
    let agreement = find(conn, id)?;
    audit::created(conn, &caller.actor(), "agreement", id, &agreement)?;
    Ok(agreement)
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateAgreement,
) -> Result<Agreement, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::edit_agreement(caller, &before.organisation_id, before.status)?;
    if_match.check(before.version)?;
    let (old, new) = (before.terms(), patch.apply(&before.terms()));
    if !matches!(
        before.status,
        AgreementStatus::Draft | AgreementStatus::Submitted
    ) && let Some(field) = old.needs_amendment(&new)
    {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!(
                "{field} of an agreement in force changes by amendment: \
                 POST /api/v1/agreements/{id}/amendments"
            ),
        ));
    }
    validate(&new)?;
    let Some(changes) = audit::changes(&old, &new) else {
        return Ok(before);
    };
    if new.reference != old.reference {
        check_reference(conn, id, &new.reference)?;
    }
    if new.patient_cap != old.patient_cap {
        check_drug_caps(conn, id, new.patient_cap)?;
    }
    // The cap never drops below what is used: the CHECK guards it, this answers it kindly.
    let rows = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::version.eq(before.version))
            .filter(a::status.eq(before.status))
            .filter(a::patients_used.le(new.patient_cap)),
    )
    .set((
        TermsFields::of(&new, now())?,
        a::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if rows == 0 && new.patient_cap < before.patients_used {
        return Err(ApiError::invalid(
            "patient_cap",
            "below_used",
            format!("{} patients are already started", before.patients_used),
        ));
    }
    won_race(rows)?;
    audit::updated(conn, &caller.actor(), "agreement", id, changes)?;
    find(conn, id)
}

#[derive(Debug, Default, Clone)]
pub struct AgreementsFilter {
    pub organisation_id: Option<Id>,
    pub status: Option<AgreementStatus>,
    pub q: Option<String>,
}

/// Sorted by reference.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &AgreementsFilter,
    page: &PageRequest,
) -> Result<Page<Agreement>, ApiError> {
    let mut q = a::table.select(AgreementRow::as_select()).into_boxed();
    if let Some(own) = policy::agreements_listed(caller) {
        q = q.filter(a::organisation_id.eq(own));
    }
    if let Some(v) = &f.organisation_id {
        q = q.filter(a::organisation_id.eq(v.clone()));
    }
    if let Some(v) = f.status {
        q = q.filter(a::status.eq(v));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q = q.filter(
            fold_case(a::reference.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(fold_case(a::title.nullable()).like(pattern).escape('\\')),
        );
    }
    let q = seek_after!(q, page.after_two(), a::reference, a::id);
    let rows: Vec<AgreementRow> = q
        .order((a::reference.asc(), a::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut drugs = covered_drugs_of(conn, &ids)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let covered = drugs.remove(row.id.as_str()).unwrap_or_default();
        out.push(row.into_agreement(covered)?);
    }
    Ok(page.page(out, |r| vec![r.reference.clone(), r.id.to_string()], |r| r))
}
