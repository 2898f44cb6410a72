//! `connect seed demo`: the consortium as it stood in 2021-2022, from the public announcements (its
//! partners, the drugs Roche and Novartis contribute, their agreements, invented cohorts and patients, and its
//! board, general assembly and working groups with invented members, their meetings and the open
//! events at Arendalsuka), so a
//! newcomer has real-looking data to explore. `connect seed bulk N`: N synthetic organisations for
//! benchmarks.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::Caller;
use crate::core::DrugStatus;
use crate::core::Id;
use crate::db::functions::lower;
use crate::db::{Db, DbConn};
use crate::drugs::model::CreateDrug;
use crate::error::ApiError;
use crate::organisations::model::{
    CreateMembershipChange, CreateOrganisation, HealthRegion, MembershipStatus, OrganisationKind,
    Sector,
};
use crate::organisations::repo;

mod bulk;
mod events;
mod governance;
mod meetings;
mod proceedings;
mod trial;

use crate::schema::organisations as o;
pub use bulk::{
    BulkAllocations, bulk, bulk_allocations, bulk_audit_events, bulk_notifications, bulk_people,
    settle,
};
pub use events::{EventsSeeded, arendalsuka_title, arendalsuka_year};
pub use governance::GovernanceSeeded;
pub use meetings::MeetingsSeeded;
pub use proceedings::ProceedingsSeeded;
pub use trial::TrialSeeded;

/// One organisation of the demo data set (`demo.toml`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOrg {
    name: String,
    short_name: String,
    kind: OrganisationKind,
    sector: Sector,
    website: Option<String>,
    health_region: Option<HealthRegion>,
    #[serde(default)]
    trial_site: bool,
    status: MembershipStatus,
    founding_partner: bool,
    joined: NaiveDate,
}

/// One drug of the demo data set, named by its company's name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDrug {
    company: String,
    generic_name: String,
    brand_name: Option<String>,
    atc_code: Option<String>,
    form: Option<String>,
    strength: Option<String>,
    #[serde(default)]
    targets: Vec<String>,
    status: DrugStatus,
    available_from: Option<NaiveDate>,
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    organisation: Vec<DemoOrg>,
    drug: Vec<DemoDrug>,
    agreement: Vec<trial::DemoAgreement>,
    cohort: Vec<trial::DemoCohort>,
    person: Vec<governance::DemoPerson>,
    body: Vec<governance::DemoBody>,
    decision: Vec<governance::DemoDecision>,
}

fn demo_data() -> Result<DemoData, ApiError> {
    toml::from_str::<DemoData>(include_str!("demo.toml"))
        .map_err(|e| ApiError::internal(format!("the demo data set is invalid: {e}")))
}

/// The id of the organisation with this name (names are unique, case-insensitively).
pub(super) fn organisation_named(conn: &mut DbConn, name: &str) -> Result<Id, ApiError> {
    o::table
        .filter(lower(o::name).eq(name.to_lowercase()))
        .select(o::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("the demo data names no organisation {name}")))
}

/// Adds the demo drugs whose company has no drug of that generic name yet; returns how many.
fn demo_drugs(conn: &mut DbConn, caller: &Caller, drugs: &[DemoDrug]) -> Result<usize, ApiError> {
    let mut added = 0;
    for d in drugs {
        let company = organisation_named(conn, &d.company)?;
        let exists = crate::schema::drugs::table
            .filter(crate::schema::drugs::organisation_id.eq(&company))
            .filter(lower(crate::schema::drugs::generic_name).eq(d.generic_name.to_lowercase()))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if exists {
            continue;
        }
        let record = CreateDrug {
            organisation_id: company,
            generic_name: d.generic_name.clone(),
            brand_name: d.brand_name.clone(),
            atc_code: d.atc_code.clone(),
            form: d.form.clone(),
            strength: d.strength.clone(),
            targets: d.targets.clone(),
            status: Some(d.status),
            available_from: d.available_from,
            notes: d.notes.clone(),
        }
        .into_record(Id::new(), crate::core::now().and_utc());
        crate::drugs::repo::create(conn, caller, record)?;
        added += 1;
    }
    Ok(added)
}

/// What `connect seed demo` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub added: usize,
    /// Demo organisations whose name the register already had (compared case-insensitively, as
    /// names are unique).
    pub skipped: usize,
    /// Demo drugs added (a company's drug of the same generic name is left as it is).
    pub drugs: usize,
    /// Demo agreements (skipped when their reference is taken), with their cohorts and patients.
    pub trial: TrialSeeded,
    /// Demo people (skipped when their e-mail is taken), and bodies (skipped when their name is)
    /// with their seats.
    pub governance: GovernanceSeeded,
    /// The board's demo meeting (skipped when the board has it), with its agenda, attendance,
    /// approved minutes and action items.
    pub proceedings: ProceedingsSeeded,
    /// The working groups' series (one occurrence moved and one cancelled) and the dialogue
    /// meeting with its guests and agenda, each skipped when its body has a meeting of its title.
    pub meetings: MeetingsSeeded,
    /// The open events at Arendalsuka (2021, held; the next one, with registrations), each
    /// skipped when an open event of its title exists.
    pub events: EventsSeeded,
}

/// Loads the demo data set beside whatever the register holds: an organisation whose name is
/// already taken (by an earlier seed, or by a record of one's own) is skipped, the rest are added
/// with their membership history.
pub async fn demo(
    db: &Db,
    mailer: std::sync::Arc<crate::notifications::Mailer>,
) -> Result<Seeded, ApiError> {
    db.write(move |conn| {
        let taken: std::collections::HashSet<String> = o::table
            .select(o::name)
            .load::<String>(conn)?
            .into_iter()
            .map(|n| n.to_lowercase())
            .collect();
        let caller = Caller::system();
        let data = demo_data()?;
        let orgs = &data.organisation;
        let today = chrono::Utc::now().date_naive();
        let mut seeded = Seeded {
            added: 0,
            skipped: 0,
            drugs: 0,
            trial: TrialSeeded::default(),
            governance: GovernanceSeeded::default(),
            proceedings: ProceedingsSeeded::default(),
            meetings: MeetingsSeeded::default(),
            events: EventsSeeded::default(),
        };
        for d in orgs {
            if taken.contains(&d.name.to_lowercase()) {
                seeded.skipped += 1;
                continue;
            }
            let record = CreateOrganisation {
                name: d.name.clone(),
                short_name: Some(d.short_name.clone()),
                kind: d.kind,
                sector: d.sector,
                org_number: None,
                country: Some("NO".into()),
                website: d.website.clone(),
                health_region: d.health_region,
                trial_site: d.trial_site,
                founding_partner: d.founding_partner,
            }
            .into_record(Id::new(), crate::core::now().and_utc());
            let created = repo::create(conn, &caller, record)?;
            if d.status != MembershipStatus::None {
                let change = CreateMembershipChange {
                    to_status: d.status,
                    effective_date: d.joined,
                    reason: if d.founding_partner {
                        "Founding member of CONNECT".into()
                    } else {
                        "Joined CONNECT".into()
                    },
                    decision_reference: None,
                    decision_id: None,
                };
                repo::change_membership(conn, &caller, &mailer, &created.id, change, today)?;
            }
            seeded.added += 1;
        }
        seeded.drugs = demo_drugs(conn, &caller, &data.drug)?;
        seeded.trial = trial::load(conn, &caller, &mailer, &data.agreement, &data.cohort, today)?;
        seeded.governance = governance::load(conn, &caller, &data.person, &data.body)?;
        seeded.governance.decisions =
            governance::load_decisions(conn, &caller, &mailer, &data.decision)?;
        seeded.proceedings = proceedings::load(conn, &caller, &mailer)?;
        seeded.meetings = meetings::load(conn, &caller, &mailer)?;
        seeded.events = events::load(conn, &caller, &mailer, today)?;
        Ok(seeded)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::MembershipStatus;

    #[test]
    fn the_demo_data_set_reads() {
        let data = super::demo_data().unwrap();
        assert_eq!(data.organisation.len(), 23);
        assert!(
            data.organisation
                .iter()
                .any(|o| o.name == "Oslo Cancer Cluster")
        );
        // Every seat's person is in the data set, at one of its organisations; an observer
        // organisation's people only observe.
        assert_eq!(data.body.len(), 7);
        for b in &data.body {
            for s in &b.seat {
                let person = data.person.iter().find(|p| p.email == s.person);
                let org = person
                    .and_then(|p| data.organisation.iter().find(|o| o.name == p.organisation));
                let status = org.map(|o| o.status);
                assert!(status.is_some(), "{}", s.person);
                if status == Some(MembershipStatus::Observer) {
                    assert_eq!(s.role, crate::core::BodyRole::Observer, "{}", s.person);
                }
            }
        }
        // Every drug's company is in the data set, and is a pharma company.
        for d in &data.drug {
            let company = data.organisation.iter().find(|o| o.name == d.company);
            assert!(
                company.is_some_and(|c| c.kind == super::OrganisationKind::Pharma),
                "{}",
                d.generic_name
            );
        }
    }
}
