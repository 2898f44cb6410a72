//! Agreements: drafting, covered drugs (only the company's own), the lifecycle and the transitions
//! it refuses, edits once in force, amendments kept in history and caps never below what is used,
//! who sees which agreement, the members' summary, and the e-mails each transition sends.

use connect::schema::{agreement_drugs as ad, agreements as ag, notifications as n};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub fn agreement_path(a: &Value) -> String {
    format!("/api/v1/agreements/{}", id_of(a))
}

/// Registers an available drug for `org` (as `token`) and returns its id.
pub async fn add_drug(app: &TestApp, token: &str, org: &str, name: &str) -> String {
    let res = app
        .post(
            "/api/v1/drugs",
            token,
            &json!({"organisation_id": org, "generic_name": name, "status": "available",
                    "available_from": "2026-01-01", "atc_code": "L01ED03", "targets": ["ALK"]}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    id_of(&res.json().await.unwrap())
}

/// Drafts an agreement for `org` (as `token`), asserting a 201.
pub async fn draft(app: &TestApp, token: &str, org: &str, reference: &str) -> Value {
    let res = app
        .post(
            "/api/v1/agreements",
            token,
            &json!({"organisation_id": org, "reference": reference, "title": "Drug supply",
                    "effective_from": "2026-01-01", "patient_cap": 100}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

/// POSTs `body` to `path` and asserts the status, returning the body.
pub async fn post_ok(app: &TestApp, path: &str, token: &str, body: Value, status: u16) -> Value {
    let res = app.post(path, token, &body).await;
    let code = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(code, status, "{path}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// An active agreement of `org` covering `drug` (drafted and activated by the admin).
pub async fn active_agreement(
    app: &TestApp,
    admin: &str,
    org: &str,
    drug: &str,
    reference: &str,
) -> Value {
    let a = draft(app, admin, org, reference).await;
    let path = agreement_path(&a);
    post_ok(
        app,
        &format!("{path}/drugs"),
        admin,
        json!({"drug_id": drug}),
        201,
    )
    .await;
    post_ok(app, &format!("{path}/submit"), admin, json!({}), 200).await;
    post_ok(app, &format!("{path}/activate"), admin, json!({}), 200).await
}

/// (kind, recipient) of the queued messages of `kind`.
fn messages(app: &TestApp, kind: &str) -> Vec<String> {
    let mut conn = app.db_conn();
    n::table
        .filter(n::kind.eq(kind))
        .select(n::recipient_email)
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn a_company_drafts_and_edits_its_agreement() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let res = app
        .post(
            "/api/v1/agreements",
            &roche.token,
            &json!({"organisation_id": roche.organisation_id, "reference": " CONNECT-ROCHE-2021 ",
                    "title": "Drug supply", "patient_cap": 100,
                    "documents": [{"title": "Signed", "url": "https://docs.example.org/a.pdf"}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["status"], "draft");
    assert_eq!(a["reference"], "CONNECT-ROCHE-2021");
    assert_eq!(a["funded_weeks"], 16);
    assert_eq!(a["patients_used"], 0);
    assert_eq!(a["remaining"], 100);
    assert_eq!(a["drugs"], json!([]));
    assert_eq!(a["documents"][0]["title"], "Signed");
    assert_eq!(app.get_ok(&agreement_path(&a), &roche.token).await, a);
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=agreement.created", id_of(&a)),
        )
        .await;
    assert_eq!(events.len(), 1);

    // The reference is unique, whatever its case.
    let res = app
        .post(
            "/api/v1/agreements",
            &admin,
            &json!({"organisation_id": roche.organisation_id, "reference": "connect-roche-2021",
                    "title": "Again", "patient_cap": 1}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // Only with pharma or biotech companies; fields are checked.
    let hospital = id_of(&app.create_org(&admin, "Haukeland", "hospital").await);
    let res = app
        .post(
            "/api/v1/agreements",
            &admin,
            &json!({"organisation_id": hospital, "reference": "H-1", "title": "x", "patient_cap": 1}),
        )
        .await;
    assert_field_error(res, "organisation_id", "not_a_company").await;
    for (body, field) in [
        (json!({"patient_cap": -1}), "patient_cap"),
        (json!({"funded_weeks": 105}), "funded_weeks"),
        (
            json!({"effective_from": "2026-02-01", "effective_to": "2026-01-01"}),
            "effective_to",
        ),
        (
            json!({"documents": [{"title": "x", "url": "not a url"}]}),
            "documents",
        ),
    ] {
        let mut full = json!({"organisation_id": roche.organisation_id, "reference": "R-x",
                              "title": "x", "patient_cap": 1});
        for (k, v) in body.as_object().unwrap() {
            full[k] = v.clone();
        }
        let res = app.post("/api/v1/agreements", &admin, &full).await;
        assert_eq!(res.status().as_u16(), 422, "{field}");
    }
    let res = app
        .post(
            "/api/v1/agreements",
            &admin,
            &json!({"organisation_id": roche.organisation_id, "reference": "R-y", "title": "x",
                    "patient_cap": 1, "colour": "red"}),
        )
        .await;
    assert!(res.status().is_client_error());

    // A draft: every field, with If-Match.
    let path = agreement_path(&a);
    let res = app
        .patch(&path, &roche.token, None, &json!({"patient_cap": 50}))
        .await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app
        .patch(
            &path,
            &roche.token,
            Some("\"1\""),
            &json!({"patient_cap": 50, "funded_weeks": 20, "notes": "n"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let a: Value = res.json().await.unwrap();
    assert_eq!(
        (a["patient_cap"].as_i64(), a["funded_weeks"].as_i64()),
        (Some(50), Some(20))
    );
    let res = app
        .patch(&path, &roche.token, Some("\"2\""), &json!({}))
        .await;
    assert_eq!(etag(&res), "\"2\"");
    let res = app
        .patch(&path, &roche.token, Some("\"1\""), &json!({"title": "y"}))
        .await;
    assert_problem(res, 412, "precondition-failed").await;

    // Submitted: the company no longer edits it, the secretariat may.
    post_ok(
        &app,
        &format!("{path}/submit"),
        &roche.token,
        json!({}),
        200,
    )
    .await;
    let res = app
        .patch(&path, &roche.token, Some("\"3\""), &json!({"title": "z"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .patch(&path, &admin, Some("\"3\""), &json!({"patient_cap": 60}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_lifecycle_moves_step_by_step_and_refuses_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let drug = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    let res = app
        .post(
            "/api/v1/agreements",
            &roche.token,
            &json!({"organisation_id": roche.organisation_id, "reference": "R-1", "title": "t",
                    "patient_cap": 10}),
        )
        .await;
    let a: Value = res.json().await.unwrap();
    let path = agreement_path(&a);
    let step = |s: &str| format!("{path}/{s}");

    // Not yet submitted: nothing else.
    for s in ["activate", "suspend", "end"] {
        let res = app
            .post(&step(s), &admin, &json!({"reason": "because"}))
            .await;
        assert_problem(res, 409, "invalid-transition").await;
    }
    let a = post_ok(&app, &step("submit"), &roche.token, json!({}), 200).await;
    assert_eq!(a["status"], "submitted");
    assert_eq!(a["version"], 2);
    let res = app.post(&step("submit"), &roche.token, &json!({})).await;
    assert_problem(res, 409, "invalid-transition").await;
    // Only the secretariat activates; it needs a start date and a covered drug.
    let res = app.post(&step("activate"), &roche.token, &json!({})).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.post(&step("activate"), &admin, &json!({})).await;
    let body = assert_field_error(res, "effective_from", "required").await;
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "drugs")
    );
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"2\""),
            &json!({"effective_from": "2026-01-01"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    post_ok(&app, &step("drugs"), &admin, json!({"drug_id": drug}), 201).await;
    let a = post_ok(
        &app,
        &step("activate"),
        &admin,
        json!({"reason": "Approved", "decision_reference": "BOARD-1"}),
        200,
    )
    .await;
    assert_eq!(a["status"], "active");
    let res = app.post(&step("activate"), &admin, &json!({})).await;
    assert_problem(res, 409, "invalid-transition").await;
    // Suspending and ending need a reason.
    let res = app.post(&step("suspend"), &admin, &json!({})).await;
    assert_field_error(res, "reason", "required").await;
    let res = app
        .post(&step("suspend"), &roche.token, &json!({"reason": "x"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    post_ok(
        &app,
        &step("suspend"),
        &admin,
        json!({"reason": "Audit"}),
        200,
    )
    .await;
    post_ok(&app, &step("activate"), &admin, json!({}), 200).await;
    let res = app
        .post(&step("end"), &admin, &json!({"reason": " "}))
        .await;
    assert_field_error(res, "reason", "required").await;
    let a = post_ok(&app, &step("end"), &admin, json!({"reason": "Over"}), 200).await;
    assert_eq!(a["status"], "ended");
    for s in ["submit", "activate", "suspend", "end"] {
        let res = app
            .post(&step(s), &admin, &json!({"reason": "again"}))
            .await;
        assert_problem(res, 409, "invalid-transition").await;
    }

    let history = app.get_ok(&step("history"), &roche.token).await;
    let kinds: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "submitted",
            "activated",
            "suspended",
            "activated",
            "ended"
        ]
    );
    let activated = &history["items"][2];
    assert_eq!(activated["from_status"], "submitted");
    assert_eq!(activated["to_status"], "active");
    assert_eq!(activated["reason"], "Approved");
    assert_eq!(activated["decision_reference"], "BOARD-1");
    assert!(activated["actor_user_id"].is_string());
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=agreement.activated", id_of(&a)),
        )
        .await;
    assert_eq!(events.len(), 2);

    // Five transitions, each told to the company's representative and the secretariat.
    let mail = messages(&app, "agreement_status_changed");
    assert_eq!(mail.iter().filter(|m| *m == &roche.email).count(), 5);
    assert_eq!(mail.iter().filter(|m| *m == ADMIN_EMAIL).count(), 5);
}

#[tokio::test]
async fn agreements_cover_only_their_company_s_own_drugs() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let novartis = app.rep(&admin, "Novartis", "partner").await;
    let own = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    let own2 = add_drug(&app, &roche.token, &roche.organisation_id, "entrectinib").await;
    let theirs = add_drug(
        &app,
        &novartis.token,
        &novartis.organisation_id,
        "dabrafenib",
    )
    .await;
    let a = draft(&app, &roche.token, &roche.organisation_id, "R-1").await;
    let drugs = format!("{}/drugs", agreement_path(&a));

    let res = app
        .post(&drugs, &roche.token, &json!({"drug_id": theirs}))
        .await;
    assert_field_error(res, "drug_id", "not_own_drug").await;
    let res = app
        .post(
            &drugs,
            &roche.token,
            &json!({"drug_id": own, "patient_cap": 101}),
        )
        .await;
    assert_field_error(res, "patient_cap", "above_agreement_cap").await;
    let covered = post_ok(
        &app,
        &drugs,
        &roche.token,
        json!({"drug_id": own, "patient_cap": 20}),
        201,
    )
    .await;
    assert_eq!(covered["generic_name"], "alectinib");
    assert_eq!(covered["patient_cap"], 20);
    assert_eq!(covered["patients_used"], 0);
    let res = app
        .post(&drugs, &roche.token, &json!({"drug_id": own}))
        .await;
    assert_problem(res, 409, "conflict").await;
    post_ok(&app, &drugs, &roche.token, json!({"drug_id": own2}), 201).await;
    let list = app.get_ok(&drugs, &roche.token).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let a2 = app.get_ok(&agreement_path(&a), &roche.token).await;
    assert_eq!(a2["drugs"][0]["drug_id"], own);
    assert_eq!(a2["version"], 3);
    // The cap cannot drop below a drug's own.
    let res = app
        .patch(
            &agreement_path(&a),
            &roche.token,
            Some("\"3\""),
            &json!({"patient_cap": 10}),
        )
        .await;
    assert_field_error(res, "patient_cap", "below_drug_cap").await;

    // Removing needs the agreement's version, which the covered drug's ETag carries.
    let one = format!("{drugs}/{own2}");
    let res = app.delete(&one, &roche.token, None).await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app.delete(&one, &roche.token, Some("\"1\"")).await;
    assert_problem(res, 412, "precondition-failed").await;
    let tag = app.current_etag(&one, &roche.token).await;
    assert_eq!(tag, "\"3\"");
    let res = app.delete(&one, &roche.token, Some(&tag)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&one, &roche.token).await;
    assert_problem(res, 404, "not-found").await;
    let res = app.delete(&one, &roche.token, Some("\"4\"")).await;
    assert_problem(res, 404, "not-found").await;
    // Another company's representative sees none of it.
    let res = app
        .post(&drugs, &novartis.token, &json!({"drug_id": theirs}))
        .await;
    assert_problem(res, 404, "not-found").await;

    // A drug a cohort uses stays.
    post_ok(
        &app,
        "/api/v1/cohorts",
        &admin,
        json!({"agreement_id": id_of(&a), "drug_id": own, "tumour_type": "lung", "alteration": "ALK"}),
        201,
    )
    .await;
    let res = app
        .delete(&format!("{drugs}/{own}"), &admin, Some("\"4\""))
        .await;
    assert_problem(res, 409, "conflict").await;

    // Once in force, drugs change by amendment only.
    post_ok(
        &app,
        &format!("{}/submit", agreement_path(&a)),
        &admin,
        json!({}),
        200,
    )
    .await;
    post_ok(
        &app,
        &format!("{}/activate", agreement_path(&a)),
        &admin,
        json!({}),
        200,
    )
    .await;
    let res = app.post(&drugs, &admin, &json!({"drug_id": own2})).await;
    let body = assert_problem(res, 409, "invalid-transition").await;
    assert!(body["detail"].as_str().unwrap().contains("/amendments"));
    let tag = app.current_etag(&format!("{drugs}/{own}"), &admin).await;
    let res = app
        .delete(&format!("{drugs}/{own}"), &admin, Some(&tag))
        .await;
    assert_problem(res, 409, "invalid-transition").await;
}

#[tokio::test]
async fn amendments_change_terms_in_force_never_below_what_is_used() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let own = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    let own2 = add_drug(&app, &roche.token, &roche.organisation_id, "entrectinib").await;
    let a = active_agreement(&app, &admin, &roche.organisation_id, &own, "R-1").await;
    let path = agreement_path(&a);
    let amend = format!("{path}/amendments");
    let version = a["version"].as_i64().unwrap();

    // In force: title, notes, documents and signed_on by PATCH (admins); the rest by amendment.
    let res = app
        .patch(
            &path,
            &admin,
            Some(&format!("\"{version}\"")),
            &json!({"patient_cap": 5}),
        )
        .await;
    let body = assert_problem(res, 409, "invalid-transition").await;
    assert!(body["detail"].as_str().unwrap().contains("/amendments"));
    let res = app
        .patch(
            &path,
            &roche.token,
            Some(&format!("\"{version}\"")),
            &json!({"title": "t"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .patch(
            &path,
            &admin,
            Some(&format!("\"{version}\"")),
            &json!({"title": "Supply 2021", "signed_on": "2020-12-15"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Only the secretariat amends, with a reason, agreements in force.
    let res = app
        .post(
            &amend,
            &roche.token,
            &json!({"reason": "x", "patient_cap": 120}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(&amend, &admin, &json!({"reason": "", "patient_cap": 120}))
        .await;
    assert_field_error(res, "reason", "required").await;
    let other = draft(&app, &admin, &roche.organisation_id, "R-2").await;
    let res = app
        .post(
            &format!("{}/amendments", agreement_path(&other)),
            &admin,
            &json!({"reason": "x"}),
        )
        .await;
    assert_problem(res, 409, "invalid-transition").await;

    // 7 patients started: the cap cannot go below 7, the drug's not below its own use.
    let mut conn = app.db_conn();
    diesel::update(ag::table.filter(ag::id.eq(id_of(&a))))
        .set(ag::patients_used.eq(7))
        .execute(&mut conn)
        .unwrap();
    diesel::update(ad::table.filter(ad::agreement_id.eq(id_of(&a))))
        .set(ad::patients_used.eq(4))
        .execute(&mut conn)
        .unwrap();
    let res = app
        .post(&amend, &admin, &json!({"reason": "x", "patient_cap": 6}))
        .await;
    let body = assert_field_error(res, "patient_cap", "below_used").await;
    assert!(body.to_string().contains('7'));
    let res = app
        .post(
            &amend,
            &admin,
            &json!({"reason": "x", "drugs": [{"drug_id": own, "patient_cap": 3}]}),
        )
        .await;
    assert_field_error(res, "drugs[0].patient_cap", "below_used").await;
    let res = app
        .post(
            &amend,
            &admin,
            &json!({"reason": "x", "remove_drugs": [own]}),
        )
        .await;
    assert_field_error(res, "remove_drugs[0]", "in_use").await;
    let got = app.get_ok(&path, &admin).await;
    assert_eq!(
        got["patient_cap"], 100,
        "a refused amendment changes nothing"
    );

    let res = app
        .post(
            &amend,
            &admin,
            &json!({"reason": "Extended by the board", "decision_reference": "BOARD-9",
                    "patient_cap": 7, "funded_weeks": 20, "effective_to": "2028-12-31",
                    "drugs": [{"drug_id": own, "patient_cap": 4}, {"drug_id": own2, "patient_cap": null}]}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let amended = app.get_ok(&path, &roche.token).await;
    assert_eq!(amended["patient_cap"], 7);
    assert_eq!(amended["remaining"], 0);
    assert_eq!(amended["funded_weeks"], 20);
    assert_eq!(amended["effective_to"], "2028-12-31");
    assert_eq!(amended["drugs"].as_array().unwrap().len(), 2);
    assert_eq!(amended["drugs"][0]["patient_cap"], 4);
    assert_eq!(amended["status"], "active");

    let history = app.get_ok(&format!("{path}/history"), &roche.token).await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "amended");
    assert_eq!(last["reason"], "Extended by the board");
    assert_eq!(last["decision_reference"], "BOARD-9");
    assert_eq!(
        last["changes"]["patient_cap"],
        json!({"from": 100, "to": 7})
    );
    assert_eq!(
        last["changes"]["funded_weeks"],
        json!({"from": 16, "to": 20})
    );
    assert_eq!(
        last["changes"][format!("drugs/{own2}")]["from"],
        Value::Null
    );
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=agreement.amended", id_of(&a)),
        )
        .await;
    assert_eq!(events.len(), 1);

    // Removing an unused drug.
    let res = app
        .post(
            &amend,
            &admin,
            &json!({"reason": "Dropped", "remove_drugs": [own2]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let amended = app.get_ok(&path, &admin).await;
    assert_eq!(amended["drugs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_secretariat_and_the_company_see_an_agreement() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let novartis = app.rep(&admin, "Novartis", "partner").await;
    let observer = app.rep(&admin, "Helsedirektoratet", "observer").await;
    let a = draft(&app, &roche.token, &roche.organisation_id, "R-1").await;
    draft(&app, &novartis.token, &novartis.organisation_id, "N-1").await;
    let path = agreement_path(&a);
    for token in [&novartis.token, &observer.token] {
        for p in [
            path.clone(),
            format!("{path}/drugs"),
            format!("{path}/history"),
        ] {
            let res = app.get(&p, token).await;
            assert_problem(res, 404, "not-found").await;
        }
        let res = app.post(&format!("{path}/submit"), token, &json!({})).await;
        assert_problem(res, 404, "not-found").await;
    }
    // Drafting for another company: 404 when its company is hidden, 403 otherwise.
    let res = app
        .post(
            "/api/v1/agreements",
            &novartis.token,
            &json!({"organisation_id": roche.organisation_id, "reference": "X", "title": "x", "patient_cap": 1}),
        )
        .await;
    assert!(matches!(res.status().as_u16(), 403 | 404));

    let refs = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["reference"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        refs(app.list_items("/api/v1/agreements", &roche.token).await),
        ["R-1"]
    );
    assert_eq!(
        refs(app.list_items("/api/v1/agreements", &novartis.token).await),
        ["N-1"]
    );
    assert!(
        app.list_items("/api/v1/agreements", &observer.token)
            .await
            .is_empty()
    );
    assert_eq!(
        refs(app.list_items("/api/v1/agreements", &admin).await),
        ["N-1", "R-1"]
    );
    assert_eq!(
        refs(app.list_items("/api/v1/agreements?q=r-", &admin).await),
        ["R-1"]
    );
    assert_eq!(
        refs(
            app.list_items(
                &format!(
                    "/api/v1/agreements?organisation_id={}",
                    novartis.organisation_id
                ),
                &admin
            )
            .await
        ),
        ["N-1"]
    );
    assert!(
        app.list_items("/api/v1/agreements?status=active", &admin)
            .await
            .is_empty()
    );
    // Pages.
    let page = app.get_ok("/api/v1/agreements?limit=1", &admin).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = app
        .get_ok(
            &format!("/api/v1/agreements?limit=1&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(next["items"][0]["reference"], "R-1");
    assert!(next["next_cursor"].is_null());
}

#[tokio::test]
async fn every_member_sees_the_summary_without_caps_or_usage() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let observer = app.rep(&admin, "Helsedirektoratet", "observer").await;
    let applicant = app.rep(&admin, "Newcomer", "applicant").await;
    let drug = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    let a = active_agreement(&app, &admin, &roche.organisation_id, &drug, "R-1").await;
    draft(&app, &roche.token, &roche.organisation_id, "R-2").await;
    // A proposed drug, covered too, stays the company's business.
    let proposed = app
        .post(
            "/api/v1/drugs",
            &roche.token,
            &json!({"organisation_id": roche.organisation_id, "generic_name": "secretinib"}),
        )
        .await;
    let proposed = id_of(&proposed.json().await.unwrap());
    post_ok(
        &app,
        &format!("{}/amendments", agreement_path(&a)),
        &admin,
        json!({"reason": "Added", "drugs": [{"drug_id": proposed, "patient_cap": null}]}),
        201,
    )
    .await;
    post_ok(
        &app,
        "/api/v1/cohorts",
        &admin,
        json!({"agreement_id": id_of(&a), "drug_id": drug, "tumour_type": "lung", "alteration": "ALK fusion"}),
        201,
    )
    .await;

    for token in [&admin, &roche.token, &observer.token] {
        let s = app.get_ok("/api/v1/agreements/summary", token).await;
        assert_eq!(
            s["companies"],
            json!([{"id": roche.organisation_id, "name": "Roche", "drug_count": 1}])
        );
        assert_eq!(s["drugs"][0]["generic_name"], "alectinib");
        assert_eq!(s["drugs"][0]["company"], "Roche");
        assert_eq!(s["drugs"][0]["targets"], json!(["ALK"]));
        assert_eq!(s["cohorts"][0]["alteration"], "ALK fusion");
        assert_eq!(s["cohorts"][0]["drug"], "alectinib");
        assert_eq!(s["cohorts"][0]["stage"], "stage_1");
        let text = s.to_string();
        for hidden in [
            "patient_cap",
            "patients_used",
            "remaining",
            "enrolled",
            "R-1",
        ] {
            assert!(!text.contains(hidden), "{hidden} in {text}");
        }
    }
    let res = app
        .get("/api/v1/agreements/summary", &applicant.token)
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn of_two_racing_transitions_one_wins_and_the_other_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = app.rep(&admin, "Roche", "partner").await;
    let drug = add_drug(&app, &roche.token, &roche.organisation_id, "alectinib").await;
    for round in 0..3 {
        let a = draft(
            &app,
            &admin,
            &roche.organisation_id,
            &format!("RACE-{round}"),
        )
        .await;
        let path = agreement_path(&a);
        post_ok(
            &app,
            &format!("{path}/drugs"),
            &admin,
            json!({"drug_id": drug}),
            201,
        )
        .await;
        post_ok(&app, &format!("{path}/submit"), &admin, json!({}), 200).await;
        let activate = format!("{path}/activate");
        let (b1, b2) = (json!({"reason": "one"}), json!({"reason": "two"}));
        let (one, two) = tokio::join!(
            app.post(&activate, &admin, &b1),
            app.post(&activate, &admin, &b2),
        );
        let mut statuses = [one.status().as_u16(), two.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let history = app.get_ok(&format!("{path}/history"), &admin).await;
        let activated = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "activated")
            .count();
        assert_eq!(activated, 1);
        assert_eq!(app.get_ok(&path, &admin).await["version"], 4);
    }
}
