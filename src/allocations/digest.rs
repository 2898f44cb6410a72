//! The weekly digest of week-16 evaluations falling due (overdue, or due in the next 7 days): to
//! each company with any such patient (its representatives) and one consortium-wide to the
//! secretariat. The notification worker runs it (no cron); it goes out once per ISO week whichever
//! instance gets there first, because only the transaction that inserts the week's
//! `scheduled_runs` row sends it. A week with nothing due inserts no row, so a patient falling due
//! later that week is still told.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{Value, json};

use super::model::{AllocationStatus, Outcome};
use crate::core::now;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::repo::{representatives, secretariat};
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{
    agreements as ag, allocations as a, drugs as d, organisations as o, scheduled_runs as sr,
};

/// The job's name in `scheduled_runs`.
pub const JOB: &str = "evaluations_due";
/// Evaluations due within this many days are in the digest, with the overdue ones.
pub const DUE_WITHIN_DAYS: u64 = 7;

/// The ISO week a day falls in, as `scheduled_runs` names periods: `2026-W49`.
pub fn period(today: NaiveDate) -> String {
    let w = today.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn monday_of(today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
        .unwrap_or(today)
}

/// Claims this week's run: true for the one transaction whose insert succeeds. The insert runs in
/// a savepoint, so on PostgreSQL the loser's transaction stays usable.
fn claim_week(conn: &mut DbConn, period: &str) -> Result<bool, ApiError> {
    let inserted = conn.transaction::<_, DieselError, _>(|conn| {
        diesel::insert_into(sr::table)
            .values((sr::job.eq(JOB), sr::period.eq(period), sr::ran_at.eq(now())))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

type DueRow = (String, String, String, String, String, NaiveDate);

/// Runs the digest for the week of `today`; returns how many messages it queued (0 when nothing
/// is due or another run got this week first). Call it inside a write transaction.
pub fn evaluations_due(
    conn: &mut DbConn,
    mailer: &Mailer,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let period = period(today);
    // Once the week's digest is out, the worker's later rounds stop here.
    let done: i64 = sr::table
        .filter(sr::job.eq(JOB))
        .filter(sr::period.eq(&period))
        .count()
        .get_result(conn)?;
    if done > 0 {
        return Ok(0);
    }
    let horizon = today
        .checked_add_days(Days::new(DUE_WITHIN_DAYS))
        .unwrap_or(today);
    let rows: Vec<DueRow> = a::table
        .filter(a::status.eq(AllocationStatus::Active))
        .filter(a::outcome.eq(Outcome::Pending))
        .filter(a::evaluation_due.le(horizon))
        .order((a::evaluation_due.asc(), a::id.asc()))
        .select((
            a::trial_code,
            a::organisation_id,
            a::site_id,
            a::drug_id,
            a::agreement_id,
            a::evaluation_due,
        ))
        .load(conn)?;
    if rows.is_empty() || !claim_week(conn, &period)? {
        return Ok(0);
    }
    let mut org_ids: Vec<&str> = rows
        .iter()
        .flat_map(|r| [r.1.as_str(), r.2.as_str()])
        .collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let orgs: HashMap<String, String> = o::table
        .filter(o::id.eq_any(&org_ids))
        .select((o::id, o::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let drug_ids: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
    let drugs: HashMap<String, String> = d::table
        .filter(d::id.eq_any(&drug_ids))
        .select((d::id, d::generic_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let agreement_ids: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
    let references: HashMap<String, String> = ag::table
        .filter(ag::id.eq_any(&agreement_ids))
        .select((ag::id, ag::reference))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let name = |map: &HashMap<String, String>, id: &str| map.get(id).cloned().unwrap_or_default();

    // Per company: (overdue, due), each oldest first.
    let mut per_company: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    let (mut all_overdue, mut all_due) = (Vec::new(), Vec::new());
    for (trial_code, company, site, drug, agreement, due) in &rows {
        let entry = json!({
            "trial_code": trial_code,
            "site": name(&orgs, site),
            "drug": name(&drugs, drug),
            "reference": name(&references, agreement),
            "due": due.to_string(),
        });
        let lists = per_company.entry(company.clone()).or_default();
        if *due < today {
            lists.0.push(entry.clone());
            all_overdue.push(entry);
        } else {
            lists.1.push(entry.clone());
            all_due.push(entry);
        }
    }
    let base = mailer.public_url.trim_end_matches('/').to_owned();
    let week_of = monday_of(today).to_string();
    let mut queued = 0;
    for (company, (overdue, due)) in per_company {
        let values = json!({
            "organisation": name(&orgs, &company),
            "week_of": week_of,
            "overdue": overdue,
            "due": due,
            "link": format!("{base}/api/v1/allocations?due_before={}", horizon.succ_opt().unwrap_or(horizon)),
        });
        for rep in representatives(conn, &company)? {
            queued += usize::from(
                enqueue(conn, mailer, Kind::EvaluationsDue, &rep, values.clone())?.is_some(),
            );
        }
    }
    let values = json!({
        "organisation": null,
        "week_of": week_of,
        "overdue": all_overdue,
        "due": all_due,
        "link": format!("{base}/api/v1/agreements/usage"),
    });
    for admin in secretariat(conn)? {
        queued += usize::from(
            enqueue(conn, mailer, Kind::EvaluationsDue, &admin, values.clone())?.is_some(),
        );
    }
    Ok(queued)
}

/// The job as the notification worker runs it (see `notifications::worker::PeriodicJob`).
pub fn job(conn: &mut DbConn, mailer: &Mailer) -> Result<usize, ApiError> {
    evaluations_due(conn, mailer, crate::core::today())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_iso_weeks() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(period(d("2026-12-06")), "2026-W49");
        assert_eq!(period(d("2026-12-07")), "2026-W50");
        assert_eq!(period(d("2027-01-01")), "2026-W53");
        assert_eq!(monday_of(d("2026-12-06")), d("2026-11-30"));
        assert_eq!(monday_of(d("2026-11-30")), d("2026-11-30"));
    }
}
