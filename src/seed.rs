//! `connect seed demo`: the consortium as it stood in 2021-2022, from the public announcements, so a
//! newcomer has real-looking data to explore. `connect seed bulk N`: N synthetic organisations for
//! benchmarks.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::core::{Id, new_id, now};
use crate::db::{Db, write_tx};
use crate::error::ApiError;
use crate::organisations::model::{
    CreateMembershipChange, CreateOrganisation, HealthRegion, MembershipStatus, OrganisationKind,
    Sector,
};
use crate::organisations::repo;
use crate::schema::organisations as o;

struct DemoOrg {
    name: &'static str,
    short: &'static str,
    kind: OrganisationKind,
    sector: Sector,
    region: Option<HealthRegion>,
    trial_site: bool,
    status: MembershipStatus,
    founding: bool,
    joined: &'static str,
    website: Option<&'static str>,
}

const fn org(
    name: &'static str,
    short: &'static str,
    kind: OrganisationKind,
    sector: Sector,
    status: MembershipStatus,
    founding: bool,
    joined: &'static str,
) -> DemoOrg {
    DemoOrg {
        name,
        short,
        kind,
        sector,
        region: None,
        trial_site: false,
        status,
        founding,
        joined,
        website: None,
    }
}

fn demo_orgs() -> Vec<DemoOrg> {
    use HealthRegion as R;
    use MembershipStatus::{Observer, Partner};
    use OrganisationKind as K;
    use Sector::{NonProfit, Private, Public};
    let mut v = vec![
        org(
            "Oslo Cancer Cluster",
            "OCC",
            K::Other,
            NonProfit,
            Partner,
            true,
            "2020-12-01",
        ),
        DemoOrg {
            website: Some("https://www.roche.no"),
            ..org(
                "Roche Norge AS",
                "Roche",
                K::Pharma,
                Private,
                Partner,
                true,
                "2020-12-01",
            )
        },
        DemoOrg {
            website: Some("https://www.novartis.no"),
            ..org(
                "Novartis Norge AS",
                "Novartis",
                K::Pharma,
                Private,
                Partner,
                true,
                "2020-12-01",
            )
        },
        org(
            "AstraZeneca AS",
            "AstraZeneca",
            K::Pharma,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Bayer AS",
            "Bayer",
            K::Pharma,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Merck AB Norge",
            "Merck",
            K::Pharma,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Pfizer AS",
            "Pfizer",
            K::Pharma,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Eli Lilly Norge AS",
            "Lilly",
            K::Pharma,
            Private,
            Partner,
            false,
            "2022-03-01",
        ),
        org(
            "MSD (Norge) AS",
            "MSD",
            K::Pharma,
            Private,
            Partner,
            false,
            "2022-03-01",
        ),
        org(
            "Janssen-Cilag AS",
            "Janssen",
            K::Pharma,
            Private,
            Partner,
            false,
            "2022-03-01",
        ),
        org(
            "Legemiddelindustrien",
            "LMI",
            K::IndustryAssociation,
            NonProfit,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Kreftforeningen",
            "Norwegian Cancer Society",
            K::PatientOrganisation,
            NonProfit,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Folkehelseinstituttet",
            "Norwegian Institute of Public Health",
            K::ResearchInstitute,
            Public,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "NEC OncoImmunity AS",
            "NEC",
            K::Technology,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "PubGene AS",
            "PubGene",
            K::Technology,
            Private,
            Partner,
            true,
            "2020-12-01",
        ),
        org(
            "Helsedirektoratet",
            "Norwegian Directorate of Health",
            K::Authority,
            Public,
            Observer,
            false,
            "2022-03-01",
        ),
        org(
            "Statens legemiddelverk",
            "Norwegian Medicines Agency",
            K::Authority,
            Public,
            Observer,
            false,
            "2022-03-01",
        ),
    ];
    let hospitals = [
        ("Oslo universitetssykehus HF", "OUS", R::SouthEast, true),
        (
            "Helse Bergen HF, Haukeland universitetssjukehus",
            "Haukeland",
            R::West,
            true,
        ),
        ("St. Olavs hospital HF", "St. Olavs", R::Central, true),
        ("Universitetssykehuset Nord-Norge HF", "UNN", R::North, true),
        ("Stavanger universitetssjukehus", "SUS", R::West, false),
        (
            "Akershus universitetssykehus HF",
            "Ahus",
            R::SouthEast,
            false,
        ),
    ];
    for (name, short, region, member) in hospitals {
        v.push(DemoOrg {
            region: Some(region),
            trial_site: true,
            ..org(
                name,
                short,
                K::Hospital,
                Public,
                if member {
                    Partner
                } else {
                    MembershipStatus::None
                },
                member,
                "2020-12-01",
            )
        });
    }
    v
}

/// Loads the demo data set into an empty register. Returns how many organisations it added.
pub async fn demo(
    db: &Db,
    mailer: std::sync::Arc<crate::notifications::Mailer>,
) -> Result<usize, ApiError> {
    db.write(move |conn| {
        let existing: i64 = o::table.count().get_result(conn)?;
        if existing > 0 {
            return Err(ApiError::conflict(
                "the register is not empty; demo data is loaded into a new database only",
            ));
        }
        let caller = Caller::system();
        let orgs = demo_orgs();
        let today = chrono::Utc::now().date_naive();
        for d in &orgs {
            let record = CreateOrganisation {
                name: d.name.into(),
                short_name: Some(d.short.into()),
                kind: d.kind,
                sector: d.sector,
                org_number: None,
                country: Some("NO".into()),
                website: d.website.map(Into::into),
                health_region: d.region,
                trial_site: d.trial_site,
                founding_partner: d.founding,
            }
            .into_record(Id::new(), crate::core::now().and_utc());
            let created = repo::create(conn, &caller, record)?;
            if d.status != MembershipStatus::None {
                let joined: NaiveDate = d
                    .joined
                    .parse()
                    .map_err(|e| ApiError::internal(format!("{e}")))?;
                let change = CreateMembershipChange {
                    to_status: d.status,
                    effective_date: joined,
                    reason: if d.founding {
                        "Founding member of CONNECT".into()
                    } else {
                        "Joined CONNECT".into()
                    },
                    decision_reference: None,
                };
                repo::change_membership(conn, &caller, &mailer, &created.id, change, today)?;
            }
        }
        Ok(orgs.len())
    })
    .await
}

/// Inserts `n` synthetic organisations (a third of them partners) for benchmarks, in batches.
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
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            for i in done..done + batch {
                let t = now();
                let kind = kinds[i % kinds.len()];
                diesel::insert_into(o::table)
                    .values((
                        o::id.eq(new_id()),
                        o::name.eq(format!("Bench Organisation {i:06}")),
                        o::kind.eq(kind.as_str()),
                        o::sector.eq(Sector::Private.as_str()),
                        o::country.eq("NO"),
                        o::health_region.eq((kind == OrganisationKind::Hospital)
                            .then_some(HealthRegion::SouthEast.as_str())),
                        o::trial_site.eq(kind == OrganisationKind::Hospital),
                        o::membership_status.eq(if i % 3 == 0 {
                            MembershipStatus::Partner
                        } else {
                            MembershipStatus::None
                        }
                        .as_str()),
                        o::founding_partner.eq(false),
                        o::created_at.eq(t),
                        o::updated_at.eq(t),
                        o::version.eq(1),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(done)
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
