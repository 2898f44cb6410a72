//! Cohorts: creation under an agreement (the drug covered), who sees them, the plan applied as
//! outcomes arrive (`cohorts::repo::reassess`, as the allocations call it), the expansion stage,
//! closing, the history and the e-mails.

use connect::cohorts::repo::reassess;
use connect::db::write_tx;
use connect::notifications::Mailer;
use connect::schema::{allocations as al, cohorts as c, notifications as n};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agreements::{active_agreement, add_drug, draft, post_ok};
use crate::helpers::*;
use crate::smtp::{MAIL_FROM, PUBLIC_URL};

struct Fixture {
    app: TestApp,
    admin: String,
    roche: Rep,
    agreement: Value,
    drug: String,
    site: String,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let drug = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    let agreement = active_agreement(&app, &admin, &roche.organisation_id, &drug, "R-1").await;
    let site = id_of(&app.create_org(&admin, "Haukeland", "hospital").await);
    Fixture {
        app,
        admin,
        roche,
        agreement,
        drug,
        site,
    }
}

impl Fixture {
    async fn cohort(&self, tumour: &str, extra: Value) -> Value {
        let mut body = json!({"agreement_id": id_of(&self.agreement), "drug_id": self.drug,
                              "tumour_type": tumour, "alteration": "ALK fusion"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        post_ok(&self.app, "/api/v1/cohorts", &self.admin, body, 201).await
    }

    /// Starts `outcomes.len()` patients in the cohort straight in the database, with these
    /// outcomes, as the allocations would.
    fn allocate(&self, cohort: &Value, outcomes: &[&str]) {
        let mut conn = self.app.db_conn();
        let t = chrono::Utc::now().naive_utc();
        let today = t.date();
        for outcome in outcomes {
            let id = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(al::table)
                .values((
                    al::id.eq(&id),
                    al::agreement_id.eq(id_of(&self.agreement)),
                    al::organisation_id.eq(&self.roche.organisation_id),
                    al::drug_id.eq(&self.drug),
                    al::site_id.eq(&self.site),
                    al::cohort_id.eq(id_of(cohort)),
                    al::trial_code.eq(format!("T-{id}")),
                    al::cohort_stage.eq(cohort["stage"].as_str().unwrap()),
                    al::started_on.eq(today),
                    al::evaluation_due.eq(today),
                    al::outcome.eq(*outcome),
                    al::status.eq("active"),
                    al::created_at.eq(t),
                    al::updated_at.eq(t),
                    al::version.eq(1),
                ))
                .execute(&mut conn)
                .unwrap();
        }
    }

    /// Applies the plan, as the allocations do after each change.
    fn reassess(&self, cohort: &Value) -> Option<Value> {
        let mailer = Mailer::new(PUBLIC_URL, MAIL_FROM).unwrap();
        let mut conn = self.app.db_conn();
        let id = id_of(cohort);
        write_tx(&mut conn, |conn| reassess(conn, &mailer, &id, None))
            .unwrap()
            .map(|c| serde_json::to_value(c).unwrap())
    }

    fn mail_count(&self, to: &str) -> usize {
        let mut conn = self.app.db_conn();
        let rows: Vec<String> = n::table
            .filter(n::kind.eq("cohort_stage_changed"))
            .filter(n::recipient_email.eq(to))
            .select(n::id)
            .load(&mut conn)
            .unwrap();
        rows.len()
    }
}

#[tokio::test]
async fn the_secretariat_creates_cohorts_for_covered_drugs() {
    let f = fixture().await;
    let app = &f.app;
    let cohort = f.cohort("non-small cell lung cancer", json!({})).await;
    assert_eq!(cohort["stage"], "stage_1");
    assert_eq!(cohort["status"], "open");
    assert_eq!(cohort["stage_limit"], 8);
    assert_eq!(
        (cohort["stage1_size"].clone(), cohort["stage2_size"].clone()),
        (json!(8), json!(24))
    );
    assert_eq!(
        (
            cohort["stage2_target"].clone(),
            cohort["expansion_target"].clone()
        ),
        (json!(1), json!(5))
    );
    assert_eq!(cohort["enrolled"], 0);
    assert_eq!(cohort["organisation_id"], f.roche.organisation_id);
    let path = format!("/api/v1/cohorts/{}", id_of(&cohort));
    let res = app.get(&path, &f.roche.token).await;
    assert_eq!(etag(&res), "\"1\"");
    let history = app.get_ok(&format!("{path}/history"), &f.admin).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert_eq!(history["items"][0]["to_stage"], "stage_1");
    let events = app
        .audit_events(
            &f.admin,
            &format!("record_id={}&action=cohort.created", id_of(&cohort)),
        )
        .await;
    assert_eq!(events.len(), 1);

    // Only the secretariat; only drugs the agreement covers; each cohort once.
    let body = json!({"agreement_id": id_of(&f.agreement), "drug_id": f.drug,
                      "tumour_type": "melanoma", "alteration": "BRAF V600E"});
    let res = app.post("/api/v1/cohorts", &f.roche.token, &body).await;
    assert_problem(res, 403, "forbidden").await;
    let other = add_drug(app, &f.roche.token, &f.roche.organisation_id, "entrectinib").await;
    let mut uncovered = body.clone();
    uncovered["drug_id"] = json!(other);
    let res = app.post("/api/v1/cohorts", &f.admin, &uncovered).await;
    assert_field_error(res, "drug_id", "not_covered").await;
    let mut dup = body.clone();
    dup["tumour_type"] = json!("Non-Small Cell Lung Cancer");
    dup["alteration"] = json!("alk fusion");
    let res = app.post("/api/v1/cohorts", &f.admin, &dup).await;
    assert_problem(res, 409, "conflict").await;
    let mut bad = body.clone();
    bad["stage2_size"] = json!(8);
    let res = app.post("/api/v1/cohorts", &f.admin, &bad).await;
    assert_field_error(res, "stage2_size", "out_of_range").await;

    // Members see cohorts; others their own company's only.
    let observer = app.rep(&f.admin, "Helsedirektoratet", "observer").await;
    let applicant = app.rep(&f.admin, "Newcomer", "applicant").await;
    assert_eq!(app.get_ok(&path, &observer.token).await["id"], cohort["id"]);
    let res = app.get(&path, &applicant.token).await;
    assert_problem(res, 404, "not-found").await;
    assert!(
        app.list_items("/api/v1/cohorts", &applicant.token)
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_items("/api/v1/cohorts", &observer.token)
            .await
            .len(),
        1
    );
    let q = format!(
        "/api/v1/cohorts?agreement_id={}&stage=stage_1&status=open&q=lung",
        id_of(&f.agreement)
    );
    assert_eq!(app.list_items(&q, &f.admin).await.len(), 1);
    assert!(
        app.list_items("/api/v1/cohorts?q=melanoma", &f.admin)
            .await
            .is_empty()
    );

    // A cohort under a draft agreement of another company: no access for Roche.
    let novartis = app.rep(&f.admin, "Novartis", "partner").await;
    let nd = add_drug(
        app,
        &novartis.token,
        &novartis.organisation_id,
        "dabrafenib",
    )
    .await;
    let na = draft(app, &novartis.token, &novartis.organisation_id, "N-1").await;
    post_ok(
        app,
        &format!("/api/v1/agreements/{}/drugs", id_of(&na)),
        &novartis.token,
        json!({"drug_id": nd}),
        201,
    )
    .await;
    let nc = post_ok(
        app,
        "/api/v1/cohorts",
        &f.admin,
        json!({"agreement_id": id_of(&na), "drug_id": nd, "tumour_type": "melanoma", "alteration": "BRAF V600E"}),
        201,
    )
    .await;
    // Roche is a member: it sees the cohort (no patient data), not the agreement.
    assert_eq!(
        app.get(&format!("/api/v1/cohorts/{}", id_of(&nc)), &f.roche.token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/agreements/{}", id_of(&na)),
            &f.roche.token
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_benefit_in_stage_1_opens_stage_2_and_none_closes_the_cohort() {
    let f = fixture().await;
    let lung = f.cohort("lung", json!({})).await;
    let colon = f.cohort("colon", json!({})).await;

    // Seven patients, pending: still open; the eighth fills stage 1.
    f.allocate(&lung, &["pending"; 7]);
    assert!(f.reassess(&lung).is_none());
    f.allocate(&lung, &["pending"]);
    let full = f.reassess(&lung).unwrap();
    assert_eq!(
        (full["stage"].as_str(), full["status"].as_str()),
        (Some("stage_1"), Some("awaiting_evaluation"))
    );
    assert_eq!(full["enrolled"], 8);
    assert_eq!(full["pending"], 8);
    // One patient with benefit: stage 2, open, room for 24.
    let mut conn = f.app.db_conn();
    let first: String = al::table
        .filter(al::cohort_id.eq(id_of(&lung)))
        .select(al::id)
        .order(al::id.asc())
        .first(&mut conn)
        .unwrap();
    diesel::update(al::table.filter(al::id.eq(&first)))
        .set(al::outcome.eq("partial_response"))
        .execute(&mut conn)
        .unwrap();
    let moved = f.reassess(&lung).unwrap();
    assert_eq!(
        (moved["stage"].as_str(), moved["status"].as_str()),
        (Some("stage_2"), Some("open"))
    );
    assert_eq!(moved["stage_limit"], 24);
    assert_eq!(
        (moved["benefits"].as_i64(), moved["evaluated"].as_i64()),
        (Some(1), Some(1))
    );

    // No benefit among all eight: closed, with the reason.
    f.allocate(&colon, &["progressive_disease"; 8]);
    let closed = f.reassess(&colon).unwrap();
    assert_eq!(
        (closed["stage"].as_str(), closed["status"].as_str()),
        (Some("closed"), Some("closed"))
    );
    assert_eq!(
        closed["closed_reason"],
        "no clinical benefit in stage 1: 0 of 8"
    );
    assert!(f.reassess(&colon).is_none());

    // Withdrawn allocations do not count.
    let mut conn = f.app.db_conn();
    diesel::update(al::table.filter(al::id.eq(&first)))
        .set(al::status.eq("withdrawn"))
        .execute(&mut conn)
        .unwrap();
    let lung_now = f
        .app
        .get_ok(&format!("/api/v1/cohorts/{}", id_of(&lung)), &f.admin)
        .await;
    assert_eq!(
        (lung_now["enrolled"].as_i64(), lung_now["benefits"].as_i64()),
        (Some(7), Some(0))
    );

    let history = f
        .app
        .get_ok(
            &format!("/api/v1/cohorts/{}/history", id_of(&lung)),
            &f.roche.token,
        )
        .await;
    let steps: Vec<(String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["to_stage"].as_str().unwrap().to_owned(),
                e["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("stage_1".into(), "open".into()),
            ("stage_1".into(), "awaiting_evaluation".into()),
            ("stage_2".into(), "open".into())
        ]
    );
    assert_eq!(history["items"][2]["benefits"], 1);
    assert_eq!(history["items"][2]["enrolled"], 8);
    // Three moves in all, each told to the company and the secretariat.
    assert_eq!(f.mail_count(&f.roche.email), 3);
    assert_eq!(f.mail_count(ADMIN_EMAIL), 3);
    let events = f
        .app
        .audit_events(
            &f.admin,
            &format!("record_id={}&action=cohort.stage_changed", id_of(&lung)),
        )
        .await;
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn an_eligible_cohort_opens_its_expansion_and_any_cohort_closes() {
    let f = fixture().await;
    let app = &f.app;
    let cohort = f
        .cohort(
            "lung",
            json!({"stage1_size": 2, "stage2_size": 6, "expansion_target": 2}),
        )
        .await;
    let path = format!("/api/v1/cohorts/{}", id_of(&cohort));
    let expand = format!("{path}/open-expansion");
    let body =
        json!({"size": 10, "reason": "2 of 6 with benefit", "decision_reference": "BOARD-3"});
    let res = app.post(&expand, &f.admin, &body).await;
    assert_problem(res, 409, "invalid-transition").await;

    f.allocate(&cohort, &["stable_disease", "pending"]);
    let c2 = f.reassess(&cohort).unwrap();
    assert_eq!(c2["stage"], "stage_2");
    f.allocate(&c2, &["complete_response"]);
    let eligible = f.reassess(&cohort).unwrap();
    assert_eq!(
        (eligible["stage"].as_str(), eligible["status"].as_str()),
        (Some("stage_2"), Some("eligible_for_expansion"))
    );

    let res = app.post(&expand, &f.roche.token, &body).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(&expand, &f.admin, &json!({"size": 0, "reason": "x"}))
        .await;
    assert_field_error(res, "size", "out_of_range").await;
    let res = app.post(&expand, &f.admin, &body).await;
    assert_eq!(res.status(), StatusCode::OK);
    let expanded: Value = res.json().await.unwrap();
    assert_eq!(
        (expanded["stage"].as_str(), expanded["status"].as_str()),
        (Some("expansion"), Some("open"))
    );
    assert_eq!(expanded["expansion_size"], 10);
    assert_eq!(expanded["stage_limit"], 16);
    let res = app.post(&expand, &f.admin, &body).await;
    assert_problem(res, 409, "invalid-transition").await;

    let res = app
        .post(
            &format!("{path}/close"),
            &f.roche.token,
            &json!({"reason": "x"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(&format!("{path}/close"), &f.admin, &json!({"reason": " "}))
        .await;
    assert_field_error(res, "reason", "required").await;
    let closed = post_ok(
        app,
        &format!("{path}/close"),
        &f.admin,
        json!({"reason": "Drug withdrawn"}),
        200,
    )
    .await;
    assert_eq!(
        (closed["stage"].as_str(), closed["status"].as_str()),
        (Some("closed"), Some("closed"))
    );
    assert_eq!(closed["closed_reason"], "Drug withdrawn");
    let res = app
        .post(
            &format!("{path}/close"),
            &f.admin,
            &json!({"reason": "again"}),
        )
        .await;
    assert_problem(res, 409, "invalid-transition").await;
    assert!(
        f.reassess(&cohort).is_none(),
        "a closed cohort stays closed"
    );

    let history = app.get_ok(&format!("{path}/history"), &f.admin).await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[3]["to_stage"], "expansion");
    assert!(items[3]["reason"].as_str().unwrap().contains("BOARD-3"));
    assert!(items[3]["actor_user_id"].is_string());
    assert_eq!(items[4]["reason"], "Drug withdrawn");
    // Stage 2, eligible, expansion, closed: four e-mails to each.
    assert_eq!(f.mail_count(&f.roche.email), 4);
    let mut conn = app.db_conn();
    let version: i32 = c::table
        .filter(c::id.eq(id_of(&cohort)))
        .select(c::version)
        .first(&mut conn)
        .unwrap();
    assert_eq!(version, 5);
}
