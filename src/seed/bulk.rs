//! `connect seed bulk`: synthetic data for benchmarks, inserted in batches straight into the tables
//! (the API's rules are not what a benchmark's set-up measures).

use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::core::{
    AgreementStatus, AllocationStatus, CohortStage, CohortStatus, DrugStatus, Outcome, Payer,
    new_id, now,
};
use crate::db::{Db, DbConn, write_tx};
use crate::error::ApiError;
use crate::organisations::model::{HealthRegion, MembershipStatus, OrganisationKind, Sector};
use crate::schema::{
    agreement_drugs as ad, agreements as a, cohorts as c, drugs as d, organisations as o,
    people as p,
};

/// A SQL string literal. The bulk data is generated here, never taken from input; quotes are
/// doubled all the same.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt_lit(s: Option<&str>) -> String {
    s.map_or_else(|| "NULL".to_owned(), lit)
}

fn ts(t: NaiveDateTime) -> String {
    lit(&t.format("%F %T%.6f").to_string())
}

fn date(d: NaiveDate) -> String {
    lit(&d.format("%F").to_string())
}

/// Rows (each a parenthesised tuple of literals) per statement.
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per transaction.
const ROWS_PER_TX: usize = 5_000;

/// Inserts `count` rows made by `row(i)` with multi-row `INSERT … VALUES` statements, one
/// transaction per [`ROWS_PER_TX`] rows (`head` is `INSERT INTO t (columns)`).
fn insert_rows(
    conn: &mut DbConn,
    head: &str,
    count: usize,
    mut row: impl FnMut(usize) -> String,
) -> Result<(), ApiError> {
    let mut done = 0;
    while done < count {
        let end = (done + ROWS_PER_TX).min(count);
        let rows: Vec<String> = (done..end).map(&mut row).collect();
        write_tx(conn, |conn| {
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                diesel::sql_query(format!("{head} VALUES {}", chunk.join(","))).execute(conn)?;
            }
            Ok(())
        })?;
        done = end;
    }
    Ok(())
}

const PLACES: [&str; 12] = [
    "Nordic",
    "Oslo",
    "Bergen",
    "Trondheim",
    "Arctic",
    "Fjord",
    "Aurora",
    "Polar",
    "Coastal",
    "Stavanger",
    "Tromsø",
    "Viken",
];
const FIELDS: [&str; 10] = [
    "Oncology",
    "Biotech",
    "Pharma",
    "Health",
    "Diagnostics",
    "Genomics",
    "Therapeutics",
    "Medical",
    "Research",
    "Analytics",
];

/// Inserts `n` synthetic organisations for benchmarks: names from a few words (so a search
/// matches some of them: `genomics` a tenth), six kinds, four countries, hospitals in the four
/// health regions as trial sites, and membership statuses spread as a register's would be
/// (a fifth partners, a tenth observers, some applicants, suspended and withdrawn).
pub fn bulk(db: &Db, n: usize) -> Result<usize, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let kinds = [
        OrganisationKind::Pharma,
        OrganisationKind::Biotech,
        OrganisationKind::Hospital,
        OrganisationKind::University,
        OrganisationKind::Technology,
        OrganisationKind::Other,
    ];
    let regions = [
        HealthRegion::SouthEast,
        HealthRegion::West,
        HealthRegion::Central,
        HealthRegion::North,
    ];
    let countries = ["NO", "NO", "NO", "NO", "NO", "NO", "SE", "DK", "FI", "NO"];
    let t = ts(now());
    insert_rows(
        &mut conn,
        "INSERT INTO organisations (id, name, kind, sector, country, health_region, trial_site, \
         membership_status, founding_partner, created_at, updated_at, version)",
        n,
        |i| {
            let kind = kinds[i % kinds.len()];
            let hospital = kind == OrganisationKind::Hospital;
            let status = match i % 20 {
                0..=3 => MembershipStatus::Partner,
                4 | 5 => MembershipStatus::Observer,
                6 => MembershipStatus::Applicant,
                7 => MembershipStatus::Suspended,
                8 => MembershipStatus::Withdrawn,
                _ => MembershipStatus::None,
            };
            let sector = if hospital || kind == OrganisationKind::University {
                Sector::Public
            } else {
                Sector::Private
            };
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, FALSE, {t}, {t}, 1)",
                lit(&new_id()),
                lit(&format!(
                    "{} {} {i:06}",
                    PLACES[(i / 7) % PLACES.len()],
                    FIELDS[(i / 3) % FIELDS.len()]
                )),
                lit(kind.as_str()),
                lit(sector.as_str()),
                lit(countries[(i / 11) % countries.len()]),
                opt_lit(hospital.then(|| regions[(i / 5) % regions.len()].as_str())),
                if hospital { "TRUE" } else { "FALSE" },
                lit(status.as_str()),
            )
        },
    )?;
    Ok(n)
}

const FIRST_NAMES: [&str; 20] = [
    "Kari", "Ola", "Ingrid", "Lars", "Nora", "Erik", "Sofie", "Jonas", "Emma", "Henrik", "Maja",
    "Anders", "Ida", "Magnus", "Sara", "Per", "Hanne", "Sindre", "Tone", "Åse",
];
const LAST_NAMES: [&str; 20] = [
    "Nordmann",
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
];
const TITLES: [Option<&str>; 6] = [
    Some("Chief Medical Officer"),
    Some("Oncologist"),
    Some("Study Nurse"),
    Some("Regulatory Affairs Manager"),
    Some("Professor"),
    None,
];

/// Up to `limit` organisation ids (by id), for rows that point at them.
fn organisation_ids(conn: &mut DbConn, limit: i64) -> Result<Vec<String>, ApiError> {
    Ok(o::table
        .select(o::id)
        .order(o::id)
        .limit(limit)
        .load(conn)?)
}

/// Inserts `n` synthetic contacts spread over the organisations there are (a few with none):
/// names from 20 first and 20 last names, unique e-mail addresses, titles and phone numbers.
pub fn bulk_people(db: &Db, n: usize) -> Result<usize, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let orgs = organisation_ids(&mut conn, 1_000_000)?;
    let suffix = new_id()[24..].to_owned();
    let t = ts(now());
    insert_rows(
        &mut conn,
        "INSERT INTO people (id, organisation_id, name, email, title, phone, created_at, \
         updated_at, version)",
        n,
        |i| {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
            let org = if orgs.is_empty() || i % 50 == 49 {
                None
            } else {
                orgs.get((i * 7919) % orgs.len()).map(String::as_str)
            };
            format!(
                "({}, {}, {}, {}, {}, {}, {t}, {t}, 1)",
                lit(&new_id()),
                opt_lit(org),
                lit(&format!("{first} {last}")),
                lit(&format!(
                    "{}.{}.{i}.{suffix}@bench.example.org",
                    first.to_lowercase(),
                    last.to_lowercase()
                )),
                opt_lit(TITLES[i % TITLES.len()]),
                opt_lit(
                    (i % 3 != 0)
                        .then(|| format!("+47 {:08}", 40_000_000 + i))
                        .as_deref()
                ),
            )
        },
    )?;
    Ok(n)
}

/// Audit actors: this many users (ids made up, as accounts that came and went).
const AUDIT_USERS: usize = 40;
/// Days the synthetic audit trail spans, ending now.
const AUDIT_DAYS: u64 = 730;

/// Inserts `n` synthetic audit events over the last two years, oldest first, with time-ordered
/// ids (UUID v7 of the event's time, as [`crate::audit::record`] makes them): changes to the
/// organisations and people there are (and to made-up agreements and allocations) by 40 users,
/// some through API tokens, and by the system.
pub fn bulk_audit_events(db: &Db, n: usize) -> Result<usize, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let orgs = organisation_ids(&mut conn, 200_000)?;
    let people: Vec<String> = p::table
        .select(p::id)
        .order(p::id)
        .limit(200_000)
        .load(&mut *conn)?;
    let made_up: Vec<String> = (0..1000).map(|_| new_id()).collect();
    let users: Vec<String> = (0..AUDIT_USERS).map(|_| new_id()).collect();
    let token = new_id();
    let end = now();
    let span_ms = i64::try_from(AUDIT_DAYS * 86_400_000).unwrap_or(i64::MAX);
    let begin = end
        .checked_sub_signed(chrono::Duration::milliseconds(span_ms))
        .unwrap_or(end);
    let step_ms = span_ms / i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    let pick = |ids: &[String], i: usize| -> String {
        if ids.is_empty() {
            made_up[i % made_up.len()].clone()
        } else {
            ids[(i * 104_729) % ids.len()].clone()
        }
    };
    insert_rows(
        &mut conn,
        "INSERT INTO audit_events (id, occurred_at, actor_kind, actor_id, action, record_type, \
         record_id, changes, request_id)",
        n,
        |i| {
            let offset = step_ms.saturating_mul(i64::try_from(i).unwrap_or(0));
            let at = begin
                .checked_add_signed(chrono::Duration::milliseconds(offset))
                .unwrap_or(begin);
            let stamp = at.and_utc();
            let secs = u64::try_from(stamp.timestamp()).unwrap_or(0);
            let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                secs,
                stamp.timestamp_subsec_nanos(),
            ))
            .to_string();
            let (record_type, record_id, action, changes) = match i % 10 {
                0..=3 => (
                    "organisation",
                    pick(&orgs, i),
                    "organisation.updated",
                    r#"{"website":{"from":null,"to":"https://example.org"}}"#,
                ),
                4 => (
                    "organisation",
                    pick(&orgs, i),
                    "organisation.membership_changed",
                    r#"{"membership_status":{"from":"none","to":"applicant"}}"#,
                ),
                5 | 6 => (
                    "person",
                    pick(&people, i),
                    "person.updated",
                    r#"{"title":{"from":null,"to":"Oncologist"}}"#,
                ),
                7 => (
                    "person",
                    pick(&people, i),
                    "person.created",
                    r#"{"name":{"from":null,"to":"Kari Nordmann"}}"#,
                ),
                8 => (
                    "agreement",
                    made_up[i % 97].clone(),
                    "agreement.updated",
                    r#"{"patient_cap":{"from":40,"to":60}}"#,
                ),
                _ => (
                    "allocation",
                    made_up[i % made_up.len()].clone(),
                    "allocation.created",
                    r#"{"trial_code":{"from":null,"to":"BENCH"}}"#,
                ),
            };
            let (actor_kind, actor_id) = match i % 20 {
                19 => ("system", None),
                18 => (
                    "api_token",
                    Some(format!("{}/{token}", users[i % users.len()])),
                ),
                _ => ("user", Some(users[(i / 20) % users.len()].clone())),
            };
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {})",
                lit(&id),
                ts(at),
                lit(actor_kind),
                opt_lit(actor_id.as_deref()),
                lit(action),
                lit(record_type),
                lit(&record_id),
                lit(changes),
                opt_lit(Some(&id[..18])),
            )
        },
    )?;
    Ok(n)
}

/// What autovacuum (off on the benchmark machine) would do soon after a load: statistics for the
/// planner and, on PostgreSQL, the visibility map that lets index-only scans skip the heap. On
/// SQLite also what FTS5's automerge does over time: the search tables, filled row by row by their
/// triggers, merged into one segment each (a name search reads a third of the pages after it).
pub fn settle(db: &Db) -> Result<(), ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let settle: &[&str] = match &*conn {
        DbConn::Sqlite(_) => &[
            "INSERT INTO people_search (people_search) VALUES ('optimize')",
            "INSERT INTO organisations_search (organisations_search) VALUES ('optimize')",
            "ANALYZE",
        ],
        DbConn::Pg(_) => &["VACUUM ANALYZE"],
    };
    for statement in settle {
        diesel::sql_query(*statement).execute(&mut *conn)?;
    }
    Ok(())
}

/// Queues `n` rendered messages (to synthetic addresses) for benchmarks, in batches.
pub fn bulk_notifications(
    db: &Db,
    mailer: &crate::notifications::Mailer,
    n: usize,
) -> Result<usize, ApiError> {
    use crate::notifications::{Kind, Language, Recipient, enqueue};
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            for i in done..done + batch {
                let to = Recipient {
                    email: format!("bench-{i:06}@example.org"),
                    name: Some(format!("Bench Recipient {i}")),
                    user_id: None,
                    language: if i % 2 == 0 {
                        Language::Nb
                    } else {
                        Language::En
                    },
                };
                enqueue(
                    conn,
                    mailer,
                    Kind::PasswordChanged,
                    &to,
                    serde_json::json!({"changed_at": "2026-11-23 10:15 UTC"}),
                )?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(done)
}

/// What `connect seed bulk --allocations N` made: N patients of a synthetic company, spread over
/// agreements of [`PER_AGREEMENT`] patients each (as a consortium's would be), with six sites and
/// ten cohorts per agreement. Patients whose evaluation fell due more than two weeks ago have an
/// outcome, as sites record them; the rest are pending. The first agreement, whose ids are
/// returned, has room for far more patients, and its last cohort is an open expansion cohort with
/// room to spare, for the allocation benchmark's new patients.
#[derive(Debug, Clone)]
pub struct BulkAllocations {
    pub added: usize,
    pub agreements: usize,
    pub agreement_id: String,
    pub drug_id: String,
    pub site_id: String,
    pub cohort_id: String,
}

const BULK_SITES: usize = 6;
/// Patients per synthetic agreement.
pub const PER_AGREEMENT: usize = 5_000;
const COHORTS_PER_AGREEMENT: usize = 10;
/// Room left for new patients in the first agreement and in its open cohort.
const BULK_HEADROOM: i32 = 10_000_000;

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Inserts `n` allocations (see [`BulkAllocations`]).
pub fn bulk_allocations(db: &Db, n: usize) -> Result<BulkAllocations, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let today = now().date();
    let start = today
        .checked_sub_days(Days::new(365))
        .unwrap_or(NaiveDate::MIN);
    let recorded_before = today.checked_sub_days(Days::new(14)).unwrap_or(today);
    let suffix = new_id()[24..].to_owned();
    let (company, drug) = (new_id(), new_id());
    let sites: Vec<String> = (0..BULK_SITES).map(|_| new_id()).collect();
    let n_agreements = n.div_ceil(PER_AGREEMENT).max(1);
    let agreements: Vec<String> = (0..n_agreements).map(|_| new_id()).collect();
    // Cohorts per agreement, and the patients each gets.
    let cohorts: Vec<Vec<String>> = agreements
        .iter()
        .map(|_| (0..COHORTS_PER_AGREEMENT).map(|_| new_id()).collect())
        .collect();
    let patients_of = |k: usize| n.saturating_sub(k * PER_AGREEMENT).min(PER_AGREEMENT);
    let per_cohort = PER_AGREEMENT.div_ceil(COHORTS_PER_AGREEMENT);
    write_tx(&mut conn, |conn| {
        let t = now();
        let org = |id: &str, name: String, kind: OrganisationKind, site: bool| {
            (
                o::id.eq(id.to_owned()),
                o::name.eq(name),
                o::kind.eq(kind.as_str()),
                o::sector.eq(Sector::Private.as_str()),
                o::country.eq("NO"),
                o::health_region.eq(site.then_some(HealthRegion::SouthEast.as_str())),
                o::trial_site.eq(site),
                o::membership_status.eq(MembershipStatus::Partner.as_str()),
                o::founding_partner.eq(false),
                o::created_at.eq(t),
                o::updated_at.eq(t),
                o::version.eq(1),
            )
        };
        diesel::insert_into(o::table)
            .values(org(
                &company,
                format!("Bench Pharma {suffix}"),
                OrganisationKind::Pharma,
                false,
            ))
            .execute(conn)?;
        for (i, site) in sites.iter().enumerate() {
            diesel::insert_into(o::table)
                .values(org(
                    site,
                    format!("Bench Hospital {suffix} {i}"),
                    OrganisationKind::Hospital,
                    true,
                ))
                .execute(conn)?;
        }
        diesel::insert_into(d::table)
            .values((
                d::id.eq(&drug),
                d::organisation_id.eq(&company),
                d::generic_name.eq(format!("benchinib {suffix}")),
                d::atc_code.eq("L01EX99"),
                d::status.eq(DrugStatus::Available),
                d::available_from.eq(start),
                d::created_at.eq(t),
                d::updated_at.eq(t),
                d::version.eq(1),
            ))
            .execute(conn)?;
        for (k, agreement) in agreements.iter().enumerate() {
            let used = count(patients_of(k));
            let cap = if k == 0 {
                used.saturating_add(BULK_HEADROOM)
            } else {
                used.max(1)
            };
            diesel::insert_into(a::table)
                .values((
                    a::id.eq(agreement),
                    a::organisation_id.eq(&company),
                    a::reference.eq(format!("BENCH-{suffix}-{k:03}")),
                    a::title.eq("Benchmark agreement"),
                    a::status.eq(AgreementStatus::Active),
                    a::effective_from.eq(start),
                    a::patient_cap.eq(cap),
                    a::patients_used.eq(used),
                    a::funded_weeks.eq(16),
                    a::documents.eq("[]"),
                    a::created_at.eq(t),
                    a::updated_at.eq(t),
                    a::version.eq(1),
                ))
                .execute(conn)?;
            diesel::insert_into(ad::table)
                .values((
                    ad::agreement_id.eq(agreement),
                    ad::drug_id.eq(&drug),
                    ad::patients_used.eq(used),
                    ad::added_at.eq(t),
                ))
                .execute(conn)?;
            for (i, cohort) in cohorts[k].iter().enumerate() {
                let open = k == 0 && i + 1 == COHORTS_PER_AGREEMENT;
                let enrolled = count(per_cohort.min(patients_of(k).saturating_sub(i * per_cohort)));
                let size = enrolled.max(24);
                diesel::insert_into(c::table)
                    .values((
                        c::id.eq(cohort),
                        c::agreement_id.eq(agreement),
                        c::drug_id.eq(&drug),
                        c::organisation_id.eq(&company),
                        c::tumour_type.eq(format!("tumour type {i}")),
                        c::alteration.eq(format!("alteration {k}.{i}")),
                        c::stage.eq(if open {
                            CohortStage::Expansion
                        } else {
                            CohortStage::Stage2
                        }),
                        c::status.eq(if open {
                            CohortStatus::Open
                        } else {
                            CohortStatus::AwaitingEvaluation
                        }),
                        c::stage2_size.eq(size),
                        c::expansion_size.eq(open.then_some(BULK_HEADROOM)),
                        c::stage_limit.eq(if open {
                            size.saturating_add(BULK_HEADROOM)
                        } else {
                            size
                        }),
                        c::enrolled.eq(enrolled),
                        c::created_at.eq(t),
                        c::updated_at.eq(t),
                        c::version.eq(1),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })?;
    let outcomes = [
        Outcome::StableDisease,
        Outcome::ProgressiveDisease,
        Outcome::PartialResponse,
        Outcome::ProgressiveDisease,
        Outcome::NotEvaluable,
        Outcome::Discontinued,
    ];
    // The funding rows point at the allocations: ids made first, used by both inserts.
    let ids: Vec<String> = (0..n).map(|_| new_id()).collect();
    let started_of = |i: usize| {
        start
            .checked_add_days(Days::new((i % 350) as u64))
            .unwrap_or(start)
    };
    let due_of = |started: NaiveDate| {
        started
            .checked_add_days(Days::new(16 * 7))
            .unwrap_or(started)
    };
    let t = ts(now());
    insert_rows(
        &mut conn,
        "INSERT INTO allocations (id, agreement_id, organisation_id, drug_id, site_id, cohort_id, \
         trial_code, cohort_stage, started_on, evaluation_due, outcome, evaluated_on, status, \
         created_at, updated_at, version)",
        n,
        |i| {
            let (k, j) = (i / PER_AGREEMENT, i % PER_AGREEMENT);
            let started = started_of(i);
            let due = due_of(started);
            let outcome = if due < recorded_before {
                outcomes[i % outcomes.len()]
            } else {
                Outcome::Pending
            };
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {t}, {t}, 1)",
                lit(&ids[i]),
                lit(&agreements[k]),
                lit(&company),
                lit(&drug),
                lit(&sites[i % sites.len()]),
                lit(&cohorts[k][(j / per_cohort).min(COHORTS_PER_AGREEMENT - 1)]),
                lit(&format!("BENCH-{suffix}-{i:07}")),
                lit(CohortStage::Stage2.as_str()),
                date(started),
                date(due),
                lit(outcome.as_str()),
                if outcome == Outcome::Pending {
                    "NULL".to_owned()
                } else {
                    date(due)
                },
                lit(AllocationStatus::Active.as_str()),
            )
        },
    )?;
    insert_rows(
        &mut conn,
        "INSERT INTO allocation_funding (allocation_id, payer, from_date, to_date)",
        n,
        |i| {
            let started = started_of(i);
            format!(
                "({}, {}, {}, {})",
                lit(&ids[i]),
                lit(Payer::Company.as_str()),
                date(started),
                date(due_of(started)),
            )
        },
    )?;
    Ok(BulkAllocations {
        added: n,
        agreements: n_agreements,
        agreement_id: agreements.first().cloned().unwrap_or_default(),
        drug_id: drug,
        site_id: sites.first().cloned().unwrap_or_default(),
        cohort_id: cohorts
            .first()
            .and_then(|c| c.last())
            .cloned()
            .unwrap_or_default(),
    })
}
