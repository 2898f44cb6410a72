//! Patient allocations through HTTP: the caps (exact under concurrency, on both databases and
//! across instances), the cohort stage rule as outcomes arrive, funding, visibility, pseudonymous
//! trial codes, withdrawal, usage, CSV, the cap notices and the weekly digest.

use chrono::{Days, NaiveDate};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn days_ago(n: u64) -> String {
    (today() - Days::new(n)).to_string()
}

/// A company with a representative, an available drug under an active agreement, a cohort, and a
/// trial site with a representative.
/// An active agreement with a drug, a cohort and a trial site (shared with `webhooks.rs`).
pub(crate) struct Trial {
    pub(crate) admin: String,
    pub(crate) company: Rep,
    pub(crate) site: Rep,
    pub(crate) agreement: String,
    pub(crate) drug: String,
    pub(crate) cohort: String,
}

async fn post_ok(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let res = app.post(path, token, &body).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A trial site (a hospital flagged as one) with a logged-in representative.
async fn site(app: &TestApp, admin: &str, name: &str) -> Rep {
    let org = post_ok(
        app,
        "/api/v1/organisations",
        admin,
        json!({"name": name, "kind": "hospital", "sector": "public", "health_region": "south_east", "trial_site": true}),
    )
    .await;
    let org_id = id_of(&org);
    app.set_status(admin, &org_id, "partner").await;
    let email = format!("rep@{}.test", name.to_lowercase().replace(' ', "-"));
    let user = app
        .create_user(admin, &email, "partner_representative", Some(&org_id))
        .await;
    let token = app.login(&email, USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Rep {
        token,
        user_id: id_of(&user),
        organisation_id: org_id,
        email,
    }
}

async fn drug(app: &TestApp, admin: &str, company: &str, name: &str) -> String {
    id_of(
        &post_ok(
            app,
            "/api/v1/drugs",
            admin,
            json!({"organisation_id": company, "generic_name": name, "status": "available", "available_from": "2020-01-01"}),
        )
        .await,
    )
}

/// An active agreement of `company` with a cap, covering `drugs` (each with its own cap or none).
async fn agreement(
    app: &TestApp,
    admin: &str,
    company: &str,
    reference: &str,
    cap: i32,
    drugs: &[(&str, Option<i32>)],
) -> String {
    let a = post_ok(
        app,
        "/api/v1/agreements",
        admin,
        json!({"organisation_id": company, "reference": reference, "title": "Drug supply",
               "signed_on": "2020-01-01", "effective_from": "2020-01-01", "patient_cap": cap}),
    )
    .await;
    let id = id_of(&a);
    for (drug, cap) in drugs {
        post_ok(
            app,
            &format!("/api/v1/agreements/{id}/drugs"),
            admin,
            json!({"drug_id": drug, "patient_cap": cap}),
        )
        .await;
    }
    post_ok(
        app,
        &format!("/api/v1/agreements/{id}/submit"),
        admin,
        json!({}),
    )
    .await;
    post_ok(
        app,
        &format!("/api/v1/agreements/{id}/activate"),
        admin,
        json!({"reason": "approved"}),
    )
    .await;
    id
}

async fn cohort(
    app: &TestApp,
    admin: &str,
    agreement: &str,
    drug: &str,
    tumour: &str,
    stage1_size: i32,
) -> String {
    id_of(
        &post_ok(
            app,
            "/api/v1/cohorts",
            admin,
            json!({"agreement_id": agreement, "drug_id": drug, "tumour_type": tumour,
                   "alteration": "BRAF V600E", "stage1_size": stage1_size, "stage2_size": 24}),
        )
        .await,
    )
}

pub(crate) async fn trial(
    app: &TestApp,
    cap: i32,
    drug_cap: Option<i32>,
    stage1_size: i32,
) -> Trial {
    let admin = app.admin_token().await;
    let company = app.rep(&admin, "Roche", "partner").await;
    let drug = drug(app, &admin, &company.organisation_id, "vemurafenib").await;
    let agreement = agreement(
        app,
        &admin,
        &company.organisation_id,
        "CONNECT-ROCHE-2021",
        cap,
        &[(&drug, drug_cap)],
    )
    .await;
    let cohort = cohort(app, &admin, &agreement, &drug, "melanoma", stage1_size).await;
    let site = site(app, &admin, "Oslo universitetssykehus").await;
    Trial {
        admin,
        company,
        site,
        agreement,
        drug,
        cohort,
    }
}

impl Trial {
    fn path(&self) -> String {
        format!("/api/v1/agreements/{}/allocations", self.agreement)
    }

    fn body(&self, code: &str) -> Value {
        self.body_in(code, &self.cohort, 10)
    }

    fn body_in(&self, code: &str, cohort: &str, started_days_ago: u64) -> Value {
        json!({"trial_code": code, "drug_id": self.drug, "site_id": self.site.organisation_id,
               "cohort_id": cohort, "started_on": days_ago(started_days_ago)})
    }

    async fn allocate(&self, app: &TestApp, code: &str) -> reqwest::Response {
        app.post(&self.path(), &self.site.token, &self.body(code))
            .await
    }

    /// Starts a patient in `cohort` (as the site), asserting 201.
    pub(crate) async fn start(&self, app: &TestApp, code: &str, cohort: &str) -> Value {
        let res = app
            .post(
                &self.path(),
                &self.site.token,
                &self.body_in(code, cohort, 120),
            )
            .await;
        expect(res, 201).await
    }

    pub(crate) async fn evaluate(&self, app: &TestApp, allocation: &Value, outcome: &str) -> Value {
        let res = app
            .post(
                &format!("/api/v1/allocations/{}/evaluation", id_of(allocation)),
                &self.site.token,
                &json!({"outcome": outcome, "evaluated_on": today().to_string()}),
            )
            .await;
        expect(res, 200).await
    }

    async fn cohort_state(&self, app: &TestApp, cohort: &str) -> (String, String) {
        let c = app
            .get_ok(&format!("/api/v1/cohorts/{cohort}"), &self.admin)
            .await;
        (
            c["stage"].as_str().unwrap().to_owned(),
            c["status"].as_str().unwrap().to_owned(),
        )
    }

    async fn usage(&self, app: &TestApp) -> Value {
        app.get_ok(
            &format!("/api/v1/agreements/{}/usage", self.agreement),
            &self.admin,
        )
        .await
    }
}

#[tokio::test]
async fn allocations_take_a_slot_and_are_funded_by_the_company_for_the_funded_weeks() {
    let app = spawn_app().await;
    let t = trial(&app, 10, None, 8).await;
    let res = t.allocate(&app, "IMPRESS-0042").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let tag = etag(&res);
    let a: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/allocations/{}", id_of(&a)));
    assert_eq!(tag, "\"1\"");
    let started = today() - Days::new(10);
    let due = (started + Days::new(16 * 7)).to_string();
    assert_eq!(a["evaluation_due"], due);
    assert_eq!(a["cohort_stage"], "stage_1");
    assert_eq!(a["outcome"], "pending");
    assert_eq!(a["status"], "active");
    assert_eq!(a["organisation_id"], t.company.organisation_id);
    assert_eq!(
        a["funding"],
        json!([{"payer": "company", "from_date": started.to_string(), "to_date": due}])
    );
    assert!(a.get("name").is_none());
    let got = app.get_ok(&location, &t.admin).await;
    assert_eq!(got, a);
    let usage = t.usage(&app).await;
    assert_eq!(usage["used"], 1);
    assert_eq!(usage["remaining"], 9);
    let events = app
        .audit_events(&t.admin, &format!("record_id={}", id_of(&a)))
        .await;
    assert_eq!(events[0]["action"], "allocation.created");
}

async fn race(apps: &[&TestApp], t: &Trial, n: usize) -> Vec<(u16, Value)> {
    let calls = (0..n).map(|i| {
        let app = apps[i % apps.len()];
        let body = t.body(&format!("RACE-{i:03}"));
        let path = t.path();
        let token = t.site.token.clone();
        async move {
            let res = app.post(&path, &token, &body).await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    });
    join_all(calls).await
}

async fn assert_ten_of_fifty(apps: &[&TestApp]) {
    let app = apps[0];
    let t = trial(app, 10, None, 12).await;
    let results = race(apps, &t, 50).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created, 10, "{results:?}");
    assert_eq!(refused.len(), 40, "{results:?}");
    for problem in refused {
        assert_eq!(problem["type"], "/problems/cap-reached", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("the agreement's cap of 10 patients is reached"),
            "{problem}"
        );
    }
    let usage = t.usage(app).await;
    assert_eq!(usage["used"], 10);
    assert_eq!(usage["remaining"], 0);
    assert_eq!(usage["cohorts"][0]["enrolled"], 10);
    let listed = app.list_items(&t.path(), &t.admin).await;
    assert_eq!(listed.len(), 10);
}

#[tokio::test]
async fn fifty_simultaneous_allocations_against_a_cap_of_ten_create_exactly_ten() {
    let app = spawn_app().await;
    assert_ten_of_fifty(&[&app]).await;
}

#[tokio::test]
#[ignore = "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres cargo test -- --include-ignored"]
async fn fifty_simultaneous_allocations_on_two_instances_create_exactly_ten() {
    require_postgres();
    let a = spawn_app().await;
    let b = a.second_instance().await;
    assert_ten_of_fifty(&[&a, &b]).await;
}

#[tokio::test]
async fn a_drugs_own_cap_below_the_agreements_is_kept() {
    let app = spawn_app().await;
    let t = trial(&app, 10, Some(3), 8).await;
    for i in 0..3 {
        expect(t.allocate(&app, &format!("IMP-{i}")).await, 201).await;
    }
    let problem = assert_problem(t.allocate(&app, "IMP-3").await, 409, "cap-reached").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("the cap of 3 patients for vemurafenib"),
        "{detail}"
    );
    let usage = t.usage(&app).await;
    assert_eq!(usage["used"], 3);
    assert_eq!(usage["drugs"][0]["patient_cap"], 3);
    assert_eq!(usage["drugs"][0]["used"], 3);
    assert_eq!(usage["drugs"][0]["remaining"], 0);
}

#[tokio::test]
async fn one_benefit_in_eight_opens_stage_two_and_none_closes_the_cohort() {
    let app = spawn_app().await;
    let t = trial(&app, 40, None, 8).await;
    let other = cohort(&app, &t.admin, &t.agreement, &t.drug, "colorectal", 8).await;
    let mut first = Vec::new();
    for i in 0..8 {
        first.push(t.start(&app, &format!("A-{i}"), &t.cohort).await);
        t.start(&app, &format!("B-{i}"), &other).await;
    }
    // Stage 1 is full: the ninth patient waits for the outcomes.
    let res = app
        .post(&t.path(), &t.site.token, &t.body_in("A-8", &t.cohort, 120))
        .await;
    let problem = assert_documented_problem(res).await;
    assert!(
        ["/problems/cap-reached", "/problems/not-taking-patients"]
            .contains(&problem["type"].as_str().unwrap()),
        "{problem}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("melanoma"),
        "{problem}"
    );

    // One benefit in eight opens stage 2.
    t.evaluate(&app, &first[0], "stable_disease").await;
    assert_eq!(t.cohort_state(&app, &t.cohort).await.0, "stage_2");
    let ninth = t.start(&app, "A-8", &t.cohort).await;
    assert_eq!(ninth["cohort_stage"], "stage_2");

    // No benefit in eight closes the other cohort.
    let others = app
        .list_items(&format!("{}?cohort_id={other}", t.path()), &t.admin)
        .await;
    assert_eq!(others.len(), 8);
    for a in &others {
        t.evaluate(&app, a, "progressive_disease").await;
    }
    assert_eq!(t.cohort_state(&app, &other).await.1, "closed");
    let res = app
        .post(&t.path(), &t.site.token, &t.body_in("B-8", &other, 120))
        .await;
    assert_problem(res, 409, "not-taking-patients").await;

    let usage = t.usage(&app).await;
    let melanoma = usage["cohorts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cohort_id"] == t.cohort.as_str())
        .unwrap()
        .clone();
    assert_eq!(melanoma["benefits"], 1);
    assert_eq!(melanoma["enrolled"], 9);
    assert_eq!(melanoma["stage"], "stage_2");
}

#[tokio::test]
async fn five_benefits_in_twenty_four_make_a_cohort_eligible_and_expansion_responders_go_public() {
    let app = spawn_app().await;
    let t = trial(&app, 40, None, 8).await;
    let mut patients = Vec::new();
    for i in 0..8 {
        patients.push(t.start(&app, &format!("P-{i:02}"), &t.cohort).await);
    }
    t.evaluate(&app, &patients[0], "partial_response").await;
    for i in 8..24 {
        patients.push(t.start(&app, &format!("P-{i:02}"), &t.cohort).await);
    }
    for p in &patients[1..4] {
        t.evaluate(&app, p, "complete_response").await;
    }
    assert_ne!(
        t.cohort_state(&app, &t.cohort).await.1,
        "eligible_for_expansion"
    );
    t.evaluate(&app, &patients[4], "stable_disease").await;
    assert_eq!(
        t.cohort_state(&app, &t.cohort).await.1,
        "eligible_for_expansion"
    );

    // An admin opens the expansion; a responder in it moves to public funding.
    post_ok(
        &app,
        &format!("/api/v1/cohorts/{}/open-expansion", t.cohort),
        &t.admin,
        json!({"size": 10, "reason": "5 of 24 with benefit", "decision_reference": "BOARD-1"}),
    )
    .await;
    let expansion = t.start(&app, "P-EXP", &t.cohort).await;
    assert_eq!(expansion["cohort_stage"], "expansion");
    let evaluated = t.evaluate(&app, &expansion, "partial_response").await;
    let started = expansion["started_on"].as_str().unwrap();
    let on = today().to_string();
    assert_eq!(
        evaluated["funding"],
        json!([
            {"payer": "company", "from_date": started, "to_date": on},
            {"payer": "public", "from_date": on, "to_date": null},
        ])
    );
    // A stage-1 responder stays with the company.
    let early = app
        .get_ok(
            &format!("/api/v1/allocations/{}", id_of(&patients[0])),
            &t.admin,
        )
        .await;
    assert_eq!(early["funding"].as_array().unwrap().len(), 1);
    // An outcome is recorded once.
    let res = app
        .post(
            &format!("/api/v1/allocations/{}/evaluation", id_of(&expansion)),
            &t.admin,
            &json!({"outcome": "progressive_disease", "evaluated_on": on}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
}

#[tokio::test]
async fn agreements_that_are_not_active_or_not_in_effect_take_no_patients() {
    let app = spawn_app().await;
    let t = trial(&app, 10, None, 8).await;
    expect(t.allocate(&app, "IMP-1").await, 201).await;
    post_ok(
        &app,
        &format!("/api/v1/agreements/{}/suspend", t.agreement),
        &t.admin,
        json!({"reason": "audit"}),
    )
    .await;
    let problem = assert_problem(t.allocate(&app, "IMP-2").await, 409, "not-taking-patients").await;
    assert!(problem["detail"].as_str().unwrap().contains("suspended"));

    // Nor does an active agreement before or after its effective dates.
    for (reference, from, to, why) in [
        (
            "LATER-1",
            (today() + Days::new(30)).to_string(),
            None,
            "is not in effect until",
        ),
        (
            "OVER-1",
            "2020-01-01".to_owned(),
            Some("2020-12-31"),
            "ended its effective period",
        ),
    ] {
        let a = post_ok(
            &app,
            "/api/v1/agreements",
            &t.admin,
            json!({"organisation_id": t.company.organisation_id, "reference": reference,
                   "title": "Dated", "effective_from": from, "effective_to": to, "patient_cap": 5}),
        )
        .await;
        let id = id_of(&a);
        post_ok(
            &app,
            &format!("/api/v1/agreements/{id}/drugs"),
            &t.admin,
            json!({"drug_id": t.drug}),
        )
        .await;
        post_ok(
            &app,
            &format!("/api/v1/agreements/{id}/submit"),
            &t.admin,
            json!({}),
        )
        .await;
        post_ok(
            &app,
            &format!("/api/v1/agreements/{id}/activate"),
            &t.admin,
            json!({}),
        )
        .await;
        let c = cohort(&app, &t.admin, &id, &t.drug, reference, 8).await;
        let res = app
            .post(
                &format!("/api/v1/agreements/{id}/allocations"),
                &t.site.token,
                &t.body_in(&format!("{reference}-P"), &c, 10),
            )
            .await;
        let problem = assert_problem(res, 409, "not-taking-patients").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }

    // A draft takes none either.
    let draft = post_ok(
        &app,
        "/api/v1/agreements",
        &t.admin,
        json!({"organisation_id": t.company.organisation_id, "reference": "DRAFT-1",
               "title": "Draft", "effective_from": "2020-01-01", "patient_cap": 5}),
    )
    .await;
    let draft = id_of(&draft);
    post_ok(
        &app,
        &format!("/api/v1/agreements/{draft}/drugs"),
        &t.admin,
        json!({"drug_id": t.drug}),
    )
    .await;
    let c = cohort(&app, &t.admin, &draft, &t.drug, "glioma", 8).await;
    let res = app
        .post(
            &format!("/api/v1/agreements/{draft}/allocations"),
            &t.site.token,
            &t.body_in("IMP-3", &c, 10),
        )
        .await;
    assert_problem(res, 409, "not-taking-patients").await;
}

#[tokio::test]
async fn allocations_are_hidden_from_other_companies_and_observers() {
    let app = spawn_app().await;
    let t = trial(&app, 10, None, 8).await;
    let a = expect(t.allocate(&app, "IMP-1").await, 201).await;
    let path = format!("/api/v1/allocations/{}", id_of(&a));
    let other = app.rep(&t.admin, "Novartis", "partner").await;
    let observer = app.rep(&t.admin, "Helsedirektoratet", "observer").await;
    for who in [&other, &observer] {
        assert_problem(app.get(&path, &who.token).await, 404, "not-found").await;
        assert_problem(app.get(&t.path(), &who.token).await, 404, "not-found").await;
        let usage = format!("/api/v1/agreements/{}/usage", t.agreement);
        assert_problem(app.get(&usage, &who.token).await, 404, "not-found").await;
        assert!(
            app.list_items("/api/v1/allocations", &who.token)
                .await
                .is_empty()
        );
        let res = app
            .post(
                &format!("{path}/withdraw"),
                &who.token,
                &json!({"reason": "not mine"}),
            )
            .await;
        assert_problem(res, 404, "not-found").await;
    }
    // The company and the site see it; the site does not see the agreement's usage.
    app.get_ok(&path, &t.company.token).await;
    app.get_ok(&path, &t.site.token).await;
    assert_eq!(app.list_items(&t.path(), &t.company.token).await.len(), 1);
    assert_eq!(app.list_items(&t.path(), &t.site.token).await.len(), 1);
    let usage = format!("/api/v1/agreements/{}/usage", t.agreement);
    app.get_ok(&usage, &t.company.token).await;
    assert_problem(app.get(&usage, &t.site.token).await, 404, "not-found").await;
    // Only the site's own representatives (and admins) start patients there.
    let res = app
        .post(&t.path(), &t.company.token, &t.body("IMP-2"))
        .await;
    assert_problem(res, 403, "forbidden").await;
    // The company sees its patients but neither evaluates nor withdraws them.
    let res = app
        .post(
            &format!("{path}/evaluation"),
            &t.company.token,
            &json!({"outcome": "stable_disease", "evaluated_on": today().to_string()}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            &format!("{path}/withdraw"),
            &t.company.token,
            &json!({"reason": "no"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let overview = app.get("/api/v1/agreements/usage", &t.company.token).await;
    assert_problem(overview, 403, "forbidden").await;
}

#[tokio::test]
async fn trial_codes_are_pseudonymous_and_the_references_must_fit() {
    let app = spawn_app().await;
    let t = trial(&app, 10, None, 8).await;
    for code in [
        "01019912345",
        "010199 12345",
        "010199-123.45",
        "ID01019912345X",
    ] {
        let body = assert_field_error(
            t.allocate(&app, code).await,
            "trial_code",
            "national_identity_number",
        )
        .await;
        assert!(
            body.to_string().contains("national identity number"),
            "{body}"
        );
    }
    assert_field_error(
        t.allocate(&app, "Kari Nordmann").await,
        "trial_code",
        "invalid_format",
    )
    .await;
    assert_field_error(t.allocate(&app, "AB").await, "trial_code", "invalid_length").await;
    let mut named = t.body("IMP-1");
    named["name"] = json!("Kari Nordmann");
    let res = app.post(&t.path(), &t.site.token, &named).await;
    assert!(res.status().is_client_error());

    let mut future = t.body("IMP-1");
    future["started_on"] = json!((today() + Days::new(1)).to_string());
    assert_field_error(
        app.post(&t.path(), &t.admin, &future).await,
        "started_on",
        "in_future",
    )
    .await;
    let mut early = t.body("IMP-1");
    early["started_on"] = json!("2019-12-31");
    assert_field_error(
        app.post(&t.path(), &t.admin, &early).await,
        "started_on",
        "outside_agreement",
    )
    .await;
    let mut not_a_site = t.body("IMP-1");
    not_a_site["site_id"] = json!(t.company.organisation_id);
    assert_field_error(
        app.post(&t.path(), &t.admin, &not_a_site).await,
        "site_id",
        "not_a_trial_site",
    )
    .await;
    let other_drug = drug(&app, &t.admin, &t.company.organisation_id, "cobimetinib").await;
    let mut wrong_drug = t.body("IMP-1");
    wrong_drug["drug_id"] = json!(other_drug);
    assert_field_error(
        app.post(&t.path(), &t.admin, &wrong_drug).await,
        "cohort_id",
        "other_drug",
    )
    .await;

    expect(t.allocate(&app, "IMP-1").await, 201).await;
    assert_problem(t.allocate(&app, "imp-1").await, 409, "conflict").await;
}

#[tokio::test]
async fn withdrawing_an_allocation_entered_by_mistake_frees_its_slot() {
    let app = spawn_app().await;
    let t = trial(&app, 1, None, 8).await;
    let a = expect(t.allocate(&app, "IMP-1").await, 201).await;
    assert_problem(t.allocate(&app, "IMP-2").await, 409, "cap-reached").await;
    let path = format!("/api/v1/allocations/{}/withdraw", id_of(&a));
    assert_field_error(
        app.post(&path, &t.site.token, &json!({"reason": " "}))
            .await,
        "reason",
        "required",
    )
    .await;
    let withdrawn = expect(
        app.post(&path, &t.site.token, &json!({"reason": "entered twice"}))
            .await,
        200,
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["withdrawn_reason"], "entered twice");
    assert_eq!(withdrawn["version"], 2);
    assert_problem(
        app.post(&path, &t.site.token, &json!({"reason": "again"}))
            .await,
        409,
        "conflict",
    )
    .await;
    let usage = t.usage(&app).await;
    assert_eq!(usage["used"], 0);
    assert_eq!(usage["cohorts"][0]["enrolled"], 0);
    // The slot is free, and the trial code can be used again.
    expect(t.allocate(&app, "IMP-1").await, 201).await;
    let events = app
        .audit_events(&t.admin, &format!("record_id={}", id_of(&a)))
        .await;
    assert!(events.iter().any(|e| e["action"] == "allocation.withdrawn"));
    let withdrawn = app
        .list_items(&format!("{}?status=withdrawn", t.path()), &t.admin)
        .await;
    assert_eq!(withdrawn.len(), 1);
}

#[tokio::test]
async fn usage_counts_per_drug_site_and_cohort_with_evaluations_due_and_exports_csv() {
    let app = spawn_app().await;
    let t = trial(&app, 10, Some(6), 8).await;
    let second = site(&app, &t.admin, "Haukeland").await;
    // Overdue (started 20 weeks ago), due within 30 days (started 14 weeks ago), not yet due.
    let overdue = expect(
        app.post(
            &t.path(),
            &t.site.token,
            &t.body_in("IMP-1", &t.cohort, 140),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.post(
            &t.path(),
            &t.site.token,
            &t.body_in("IMP-2", &t.cohort, 100),
        )
        .await,
        201,
    )
    .await;
    let mut at_second = t.body_in("IMP-3", &t.cohort, 5);
    at_second["site_id"] = json!(second.organisation_id);
    expect(app.post(&t.path(), &second.token, &at_second).await, 201).await;

    let u = t.usage(&app).await;
    assert_eq!(u["patient_cap"], 10);
    assert_eq!(u["used"], 3);
    assert_eq!(u["remaining"], 7);
    assert_eq!(u["company"], "Roche");
    assert_eq!(u["drugs"][0]["used"], 3);
    assert_eq!(u["drugs"][0]["remaining"], 3);
    assert_eq!(
        u["sites"],
        json!([
            {"site_id": second.organisation_id, "name": "Haukeland", "used": 1},
            {"site_id": t.site.organisation_id, "name": "Oslo universitetssykehus", "used": 2},
        ])
    );
    assert_eq!(u["cohorts"][0]["enrolled"], 3);
    assert_eq!(u["cohorts"][0]["stage_limit"], 8);
    assert_eq!(u["evaluations"]["overdue"], 1);
    assert_eq!(u["evaluations"]["due_next_30_days"], 1);
    assert_eq!(
        u["evaluations"]["items"][0]["allocation_id"],
        id_of(&overdue)
    );
    assert_eq!(u["evaluations"]["items"][0]["overdue"], true);

    // Filters and the second site's view.
    let due = (today() + Days::new(1)).to_string();
    let listed = app
        .list_items(&format!("/api/v1/allocations?due_before={due}"), &t.admin)
        .await;
    assert_eq!(listed.len(), 1);
    let mine = app.list_items("/api/v1/allocations", &second.token).await;
    assert_eq!(mine.len(), 1);
    let page = app
        .get_ok(&format!("{}?limit=2", t.path()), &t.company.token)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_cursor"].as_str().unwrap();
    let rest = app
        .list_items(
            &format!("{}?limit=2&cursor={next}", t.path()),
            &t.company.token,
        )
        .await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["trial_code"], "IMP-3");

    // The overview.
    let overview = app.get_ok("/api/v1/agreements/usage", &t.admin).await;
    let row = &overview["items"][0];
    assert_eq!(row["reference"], "CONNECT-ROCHE-2021");
    assert_eq!(row["used"], 3);
    assert_eq!(row["overdue"], 1);
    assert_eq!(row["due_next_30_days"], 1);

    // CSV: the allocations, the usage and the overview.
    let res = app.get_csv(&t.path(), &t.company.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("\"id\",\"agreement_id\""), "{csv}");
    assert!(csv.contains("\"IMP-2\""));
    let usage_csv = app
        .get_csv(
            &format!("/api/v1/agreements/{}/usage", t.agreement),
            &t.admin,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        usage_csv.starts_with("\"part\",\"id\",\"name\""),
        "{usage_csv}"
    );
    assert!(usage_csv.contains("\"agreement\""), "{usage_csv}");
    assert!(usage_csv.contains("\"Haukeland\""), "{usage_csv}");
    assert!(usage_csv.contains("\"overdue\""), "{usage_csv}");
    let overview_csv = app
        .get_csv("/api/v1/agreements/usage", &t.admin)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(overview_csv.lines().count(), 2, "{overview_csv}");
    let csv = app
        .get_csv("/api/v1/allocations", &second.token)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

/// The messages of one kind in the outbox.
async fn messages(app: &TestApp, admin: &str, kind: &str) -> Vec<Value> {
    app.list_items(
        &format!("/api/v1/notifications?kind={kind}&limit=200"),
        admin,
    )
    .await
}

#[tokio::test]
async fn cap_notices_go_out_once_at_80_and_100_percent() {
    let app = spawn_app().await;
    let t = trial(&app, 5, Some(5), 8).await;
    for i in 0..3 {
        expect(t.allocate(&app, &format!("IMP-{i}")).await, 201).await;
    }
    assert!(messages(&app, &t.admin, "cap_threshold").await.is_empty());
    let fourth = expect(t.allocate(&app, "IMP-3").await, 201).await;
    // 80 % of the agreement's cap and of the drug's: company representative and secretariat.
    let sent = messages(&app, &t.admin, "cap_threshold").await;
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(
        sent.iter()
            .any(|n| n["recipient_email"] == t.company.email.as_str())
    );
    assert!(sent.iter().any(|n| n["recipient_email"] == ADMIN_EMAIL));
    expect(t.allocate(&app, "IMP-4").await, 201).await;
    assert_eq!(messages(&app, &t.admin, "cap_threshold").await.len(), 8);
    // Below and back up again: no second notice.
    let path = format!("/api/v1/allocations/{}/withdraw", id_of(&fourth));
    expect(
        app.post(&path, &t.admin, &json!({"reason": "mistake"}))
            .await,
        200,
    )
    .await;
    expect(t.allocate(&app, "IMP-5").await, 201).await;
    let sent = messages(&app, &t.admin, "cap_threshold").await;
    assert_eq!(sent.len(), 8, "{sent:?}");
    assert!(
        sent.iter()
            .any(|n| n["subject"].as_str().unwrap().contains("100 %")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn the_weekly_digest_of_evaluations_due_goes_out_once_per_week() {
    let app = spawn_app().await;
    let t = trial(&app, 10, None, 8).await;
    // Overdue, due within a week, and not yet due.
    for (code, ago) in [("IMP-1", 120), ("IMP-2", 110), ("IMP-3", 10)] {
        expect(
            app.post(&t.path(), &t.site.token, &t.body_in(code, &t.cohort, ago))
                .await,
            201,
        )
        .await;
    }
    assert!(messages(&app, &t.admin, "evaluations_due").await.is_empty());
    // Two more instances start; each worker runs the digest on start, and one sends it.
    let b = app
        .second_instance_with(&[("CONNECT_MAIL_POLL_MS", "50")])
        .await;
    let c = app
        .second_instance_with(&[("CONNECT_MAIL_POLL_MS", "50")])
        .await;
    for _ in 0..100 {
        if messages(&app, &t.admin, "evaluations_due").await.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let sent = messages(&app, &t.admin, "evaluations_due").await;
    drop((b, c));
    // The company's representative and the secretariat, once each.
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        sent.iter()
            .any(|n| n["recipient_email"] == t.company.email.as_str())
    );
    assert!(sent.iter().any(|n| n["recipient_email"] == ADMIN_EMAIL));

    // Run again this week: nothing more.
    let mailer =
        connect::notifications::Mailer::new("http://localhost", "connect@example.org").unwrap();
    let mut conn = app.db_conn();
    let again = connect::allocations::digest::evaluations_due(&mut conn, &mailer, today()).unwrap();
    assert_eq!(again, 0);
    // Next week is another digest (the overdue patients are still due).
    let next_week =
        connect::allocations::digest::evaluations_due(&mut conn, &mailer, today() + Days::new(7))
            .unwrap();
    assert_eq!(next_week, 2);
}
