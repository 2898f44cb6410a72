//! Drugs: fields and rules (ATC code, targets, availability, the company), who sees and edits
//! which drug, `If-Match`, lists with filters.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn drug_path(d: &Value) -> String {
    format!("/api/v1/drugs/{}", id_of(d))
}

fn generic_names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["generic_name"].as_str().unwrap().to_owned())
        .collect()
}

/// Registers a drug (as `token`) and returns it, asserting a 201.
async fn add_drug(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post("/api/v1/drugs", token, &body).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn simple_drug(app: &TestApp, token: &str, org: &str, name: &str, status: &str) -> Value {
    add_drug(
        app,
        token,
        json!({"organisation_id": org, "generic_name": name, "status": status,
                "available_from": "2026-01-01"}),
    )
    .await
}

#[tokio::test]
async fn create_get_and_patch_a_drug() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = id_of(&app.create_org(&admin, "Roche", "pharma").await);
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": roche, "generic_name": " alectinib ", "brand_name": "Alecensa",
                    "atc_code": "l01ed03", "form": "capsule", "strength": "150 mg",
                    "targets": [" RET", "ALK", "alk", ""], "status": "available",
                    "available_from": "2026-01-15", "notes": "Line one\nline two"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let drug: Value = res.json().await.unwrap();
    assert_eq!(location, drug_path(&drug));
    assert_eq!(drug["generic_name"], "alectinib");
    assert_eq!(drug["atc_code"], "L01ED03");
    assert_eq!(drug["targets"], json!(["ALK", "RET"]));
    assert_eq!(drug["status"], "available");
    assert_eq!(drug["available_from"], "2026-01-15");
    assert_eq!(drug["version"], 1);
    assert_eq!(app.get_ok(&location, &admin).await, drug);
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=drug.created", id_of(&drug)),
        )
        .await;
    assert_eq!(events.len(), 1);

    // PATCH needs If-Match.
    let res = app
        .patch(&location, &admin, None, &json!({"brand_name": null}))
        .await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"1\""),
            &json!({"brand_name": null, "targets": ["ALK", "ROS1"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["brand_name"], Value::Null);
    assert_eq!(updated["targets"], json!(["ALK", "ROS1"]));
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=drug.updated", id_of(&drug)),
        )
        .await;
    assert_eq!(events.len(), 1);

    // Nothing changed: same version, no event.
    let res = app
        .patch(&location, &admin, Some("\"2\""), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"2\""),
            &json!({"targets": ["ros1", "ALK"], "atc_code": "L01ED03"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // "ros1" differs in spelling from "ROS1": a change.
    assert_eq!(etag(&res), "\"3\"");

    // A stale version is refused.
    let res = app
        .patch(&location, &admin, Some("\"1\""), &json!({"notes": "x"}))
        .await;
    assert_problem(res, 412, "precondition-failed").await;
}

#[tokio::test]
async fn field_rules_are_checked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = id_of(&app.create_org(&admin, "Roche", "pharma").await);
    for bad in ["L01ED3", "L01E", "X1ED03", "L01ED033", "L01-D03"] {
        let res = app
            .post(
                "/api/v1/drugs",
                &admin,
                &json!({"organisation_id": roche, "generic_name": "x", "atc_code": bad}),
            )
            .await;
        assert_field_error(res, "atc_code", "invalid_format").await;
    }
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": roche, "generic_name": " "}),
        )
        .await;
    assert_field_error(res, "generic_name", "required").await;
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": roche, "generic_name": "x", "status": "available"}),
        )
        .await;
    assert_field_error(res, "available_from", "required").await;
    let many: Vec<String> = (0..51).map(|i| format!("T{i}")).collect();
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": roche, "generic_name": "x", "targets": many}),
        )
        .await;
    assert_field_error(res, "targets", "too_many").await;
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": roche, "generic_name": "x", "targets": ["A".repeat(101)]}),
        )
        .await;
    assert_field_error(res, "targets", "too_long").await;

    // Available needs its date on PATCH too.
    let d = simple_drug(&app, &admin, &roche, "alectinib", "proposed").await;
    let res = app
        .patch(
            &drug_path(&d),
            &admin,
            Some("\"1\""),
            &json!({"status": "available", "available_from": null}),
        )
        .await;
    assert_field_error(res, "available_from", "required").await;
}

#[tokio::test]
async fn only_pharma_and_biotech_companies_contribute_drugs() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let biotech = id_of(&app.create_org(&admin, "Nykode", "biotech").await);
    let hospital = id_of(&app.create_org(&admin, "OUS", "hospital").await);
    simple_drug(&app, &admin, &biotech, "vb10", "proposed").await;
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": hospital, "generic_name": "x"}),
        )
        .await;
    assert_field_error(res, "organisation_id", "not_a_company").await;
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &json!({"organisation_id": uuid::Uuid::now_v7().to_string(), "generic_name": "x"}),
        )
        .await;
    assert_field_error(res, "organisation_id", "not_found").await;
}

#[tokio::test]
async fn a_company_has_one_drug_per_generic_name_form_and_strength() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = id_of(&app.create_org(&admin, "Roche", "pharma").await);
    let novartis = id_of(&app.create_org(&admin, "Novartis", "pharma").await);
    let body = |org: &str, name: &str, strength: &str| json!({"organisation_id": org, "generic_name": name, "form": "capsule", "strength": strength});
    add_drug(&app, &admin, body(&roche, "alectinib", "150 mg")).await;
    let res = app
        .post(
            "/api/v1/drugs",
            &admin,
            &body(&roche, "Alectinib", "150 MG"),
        )
        .await;
    let problem = assert_problem(res, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("already"));
    add_drug(&app, &admin, body(&roche, "alectinib", "300 mg")).await;
    add_drug(&app, &admin, body(&novartis, "alectinib", "150 mg")).await;
}

#[tokio::test]
async fn who_sees_and_edits_which_drug() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let own = app.rep(&admin, "Roche", "partner").await;
    let other = app.rep(&admin, "Novartis", "partner").await;
    let observer = app.rep(&admin, "Bayer", "observer").await;
    let applicant = app.rep(&admin, "Pfizer", "applicant").await;

    // A partner company's representative registers its own drugs, not another's.
    let proposed = simple_drug(
        &app,
        &own.token,
        &own.organisation_id,
        "entrectinib",
        "proposed",
    )
    .await;
    let available = simple_drug(
        &app,
        &own.token,
        &own.organisation_id,
        "alectinib",
        "available",
    )
    .await;
    let withdrawn = simple_drug(
        &app,
        &admin,
        &own.organisation_id,
        "vemurafenib",
        "withdrawn",
    )
    .await;
    let res = app
        .post(
            "/api/v1/drugs",
            &other.token,
            &json!({"organisation_id": own.organisation_id, "generic_name": "x"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // An applicant cannot see a partner company at all: 404.
    let res = app
        .post(
            "/api/v1/drugs",
            &applicant.token,
            &json!({"organisation_id": own.organisation_id, "generic_name": "x"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    // Observers and applicants do not register drugs, not even their own.
    for rep in [&observer, &applicant] {
        let res = app
            .post(
                "/api/v1/drugs",
                &rep.token,
                &json!({"organisation_id": rep.organisation_id, "generic_name": "x"}),
            )
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let applicants_own = simple_drug(
        &app,
        &admin,
        &applicant.organisation_id,
        "pfizinib",
        "available",
    )
    .await;

    // The owner and the admin see every drug of the company.
    for token in [&own.token, &admin] {
        for d in [&proposed, &available, &withdrawn] {
            assert_eq!(app.get(&drug_path(d), token).await.status(), StatusCode::OK);
        }
    }
    // Other members see the available one only; proposed and withdrawn answer 404.
    for token in [&other.token, &observer.token] {
        assert_eq!(
            app.get(&drug_path(&available), token).await.status(),
            StatusCode::OK
        );
        for d in [&proposed, &withdrawn] {
            assert_problem(app.get(&drug_path(d), token).await, 404, "not-found").await;
        }
        let listed = generic_names(&app.list_items("/api/v1/drugs", token).await);
        assert_eq!(listed, ["alectinib", "pfizinib"]);
    }
    // An applicant sees only its own company's drugs.
    assert_problem(
        app.get(&drug_path(&available), &applicant.token).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        app.get(&drug_path(&applicants_own), &applicant.token)
            .await
            .status(),
        StatusCode::OK
    );
    let listed = generic_names(&app.list_items("/api/v1/drugs", &applicant.token).await);
    assert_eq!(listed, ["pfizinib"]);
    let listed = generic_names(&app.list_items("/api/v1/drugs", &own.token).await);
    assert_eq!(
        listed,
        ["alectinib", "entrectinib", "pfizinib", "vemurafenib"]
    );

    // Editing: the owner yes; a member who sees it 403; one who does not 404.
    let path = drug_path(&available);
    let res = app
        .patch(&path, &own.token, Some("\"1\""), &json!({"notes": "ok"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for token in [&other.token, &observer.token] {
        let res = app
            .patch(&path, token, Some("\"2\""), &json!({"notes": "no"}))
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let res = app
        .patch(
            &path,
            &applicant.token,
            Some("\"2\""),
            &json!({"notes": "no"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    let res = app
        .patch(
            &drug_path(&proposed),
            &other.token,
            Some("\"1\""),
            &json!({"notes": "no"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    // A drug stays with its company.
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"2\""),
            &json!({"organisation_id": other.organisation_id}),
        )
        .await;
    assert_eq!(res.status().as_u16() / 100, 4);
}

#[tokio::test]
async fn lists_filter_by_company_status_atc_prefix_target_and_name() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = id_of(&app.create_org(&admin, "Roche", "pharma").await);
    let novartis = id_of(&app.create_org(&admin, "Novartis", "pharma").await);
    let drug = |org: &str, name: &str, brand: &str, atc: &str, targets: Value, status: &str| {
        json!({"organisation_id": org, "generic_name": name, "brand_name": brand, "atc_code": atc,
               "targets": targets, "status": status, "available_from": "2026-01-01"})
    };
    add_drug(
        &app,
        &admin,
        drug(
            &roche,
            "alectinib",
            "Alecensa",
            "L01ED03",
            json!(["ALK"]),
            "available",
        ),
    )
    .await;
    add_drug(
        &app,
        &admin,
        drug(
            &novartis,
            "dabrafenib",
            "Tafinlar",
            "L01EC02",
            json!(["BRAF V600E"]),
            "available",
        ),
    )
    .await;
    add_drug(
        &app,
        &admin,
        drug(
            &novartis,
            "trametinib",
            "Mekinist",
            "L01EE01",
            json!(["BRAF V600E", "MEK1"]),
            "proposed",
        ),
    )
    .await;
    add_drug(
        &app,
        &admin,
        drug(
            &roche,
            "atezolizumab",
            "Tecentriq",
            "L01FF05",
            json!(["PD-L1"]),
            "available",
        ),
    )
    .await;

    let names = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move { generic_names(&app.list_items(&format!("/api/v1/drugs{q}"), admin).await) }
    };
    assert_eq!(
        names("").await,
        ["alectinib", "atezolizumab", "dabrafenib", "trametinib"]
    );
    assert_eq!(
        names("?atc=L01E").await,
        ["alectinib", "dabrafenib", "trametinib"]
    );
    assert_eq!(names("?atc=l01ed").await, ["alectinib"]);
    assert_eq!(names("?atc=L01EC02").await, ["dabrafenib"]);
    assert_eq!(
        names("?target=braf%20v600e").await,
        ["dabrafenib", "trametinib"]
    );
    assert_eq!(names("?target=BRAF").await, Vec::<String>::new());
    assert_eq!(names("?status=proposed").await, ["trametinib"]);
    assert_eq!(names("?q=MEKIN").await, ["trametinib"]);
    assert_eq!(names("?q=zumab").await, ["atezolizumab"]);
    assert_eq!(
        generic_names(
            &app.list_items(&format!("/api/v1/drugs?organisation_id={roche}"), &admin)
                .await
        ),
        ["alectinib", "atezolizumab"]
    );
    let res = app.get("/api/v1/drugs?atc=L01%25", &admin).await;
    assert_field_error(res, "atc", "invalid_format").await;

    // Keyset pages, in generic-name order.
    let page = app.get_ok("/api/v1/drugs?limit=3", &admin).await;
    assert_eq!(
        generic_names(page["items"].as_array().unwrap()),
        ["alectinib", "atezolizumab", "dabrafenib"]
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = app
        .get_ok(&format!("/api/v1/drugs?limit=3&cursor={cursor}"), &admin)
        .await;
    assert_eq!(
        generic_names(page["items"].as_array().unwrap()),
        ["trametinib"]
    );
    assert_eq!(page["next_cursor"], Value::Null);
}
