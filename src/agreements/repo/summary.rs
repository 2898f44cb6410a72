//! The consortium summary every member sees: companies, drugs and cohorts, without caps or usage.
//! Drugs appear only while available, as the drugs' own visibility rule has it.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use crate::agreements::model::{
    AgreementStatus, ConsortiumSummary, SummaryCohort, SummaryCompany, SummaryDrug,
};
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{CohortStage, CohortStatus, DrugStatus, Id};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::{
    agreement_drugs as ad, agreements as a, cohorts as c, drug_targets as dt, drugs as d,
    organisations as o,
};

pub fn summary(conn: &mut DbConn, caller: &Caller) -> Result<ConsortiumSummary, ApiError> {
    policy::see_consortium_summary(caller)?;
    let companies: Vec<(Id, String)> = a::table
        .inner_join(o::table)
        .filter(a::status.eq(AgreementStatus::Active))
        .select((o::id, o::name))
        .distinct()
        .load(conn)?;
    let names: HashMap<String, String> = companies
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect();

    type DrugRow = (Id, String, Option<String>, Option<String>, Id);
    let rows: Vec<DrugRow> = ad::table
        .inner_join(a::table)
        .inner_join(d::table)
        .filter(a::status.eq(AgreementStatus::Active))
        // A proposed or withdrawn drug is not on offer (and a proposed one is its company's
        // business only).
        .filter(d::status.eq(DrugStatus::Available))
        .select((
            d::id,
            d::generic_name,
            d::brand_name,
            d::atc_code,
            d::organisation_id,
        ))
        .distinct()
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut targets: HashMap<String, Vec<String>> = HashMap::new();
    if !ids.is_empty() {
        let pairs: Vec<(String, String)> = dt::table
            .filter(dt::drug_id.eq_any(&ids))
            .select((dt::drug_id, dt::target))
            .load(conn)?;
        for (id, target) in pairs {
            targets.entry(id).or_default().push(target);
        }
    }
    let mut drugs: Vec<SummaryDrug> = rows
        .into_iter()
        .map(
            |(drug_id, generic_name, brand_name, atc_code, organisation_id)| {
                let mut t = targets.remove(drug_id.as_str()).unwrap_or_default();
                t.sort();
                SummaryDrug {
                    company: names
                        .get(organisation_id.as_str())
                        .cloned()
                        .unwrap_or_default(),
                    drug_id,
                    generic_name,
                    brand_name,
                    atc_code,
                    targets: t,
                    organisation_id,
                }
            },
        )
        .collect();
    drugs.sort_by(|x, y| {
        (x.generic_name.to_lowercase(), x.drug_id.as_str())
            .cmp(&(y.generic_name.to_lowercase(), y.drug_id.as_str()))
    });

    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for drug in &drugs {
        *counts.entry(drug.organisation_id.as_str()).or_default() += 1;
    }
    let mut companies: Vec<SummaryCompany> = companies
        .iter()
        .map(|(id, name)| SummaryCompany {
            id: id.clone(),
            name: name.clone(),
            drug_count: counts.get(id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    companies.sort_by(|x, y| {
        (x.name.to_lowercase(), x.id.as_str()).cmp(&(y.name.to_lowercase(), y.id.as_str()))
    });

    type CohortRow = (
        Id,
        Id,
        String,
        String,
        Id,
        String,
        CohortStage,
        CohortStatus,
    );
    let rows: Vec<CohortRow> = c::table
        .inner_join(a::table)
        .inner_join(d::table)
        .filter(a::status.eq(AgreementStatus::Active))
        .filter(c::stage.ne(CohortStage::Closed))
        .order((c::tumour_type.asc(), c::alteration.asc(), c::id.asc()))
        .select((
            c::id,
            c::agreement_id,
            c::tumour_type,
            c::alteration,
            c::drug_id,
            d::generic_name,
            c::stage,
            c::status,
        ))
        .load(conn)?;
    let cohorts = rows
        .into_iter()
        .map(
            |(cohort_id, agreement_id, tumour_type, alteration, drug_id, drug, stage, status)| {
                SummaryCohort {
                    cohort_id,
                    agreement_id,
                    tumour_type,
                    alteration,
                    drug_id,
                    drug,
                    stage,
                    status,
                }
            },
        )
        .collect();
    Ok(ConsortiumSummary {
        companies,
        drugs,
        cohorts,
    })
}
