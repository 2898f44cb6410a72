//! Contacts: fields and rules, who may add and change them, `If-Match`, lists with filters and
//! pagination, linked user accounts, CSV export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Links a new user account to a person (as admin); returns the user.
async fn account_for(app: &TestApp, admin: &str, person: &Value, email: &str) -> Value {
    let res = app
        .post(
            "/api/v1/users",
            admin,
            &json!({"email": email, "display_name": "Linked", "role": "partner_representative",
                    "organisation_id": person["organisation_id"], "person_id": person["id"],
                    "password": USER_PASSWORD}),
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

fn person_path(p: &Value) -> String {
    format!("/api/v1/people/{}", id_of(p))
}

// ---------------------------------------------------------------------------------------------
// Creating and the field rules

#[tokio::test]
async fn create_answers_201_with_location_etag_and_a_lower_case_email() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche", "pharma").await;
    let res = app
        .post(
            "/api/v1/people",
            &admin,
            &json!({"organisation_id": id_of(&org), "name": " Kari Nordmann ", "email": " Kari.Nordmann@Roche.COM ",
                    "title": "Medical Director", "phone": "+47 22 00 00 00"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let person: Value = res.json().await.unwrap();
    assert_eq!(location, person_path(&person));
    assert_eq!(person["organisation_id"], id_of(&org).as_str());
    assert_eq!(person["name"], "Kari Nordmann");
    assert_eq!(person["email"], "kari.nordmann@roche.com");
    assert_eq!(person["title"], "Medical Director");
    assert_eq!(person["phone"], "+47 22 00 00 00");
    assert_eq!(person["user_id"], Value::Null);
    assert_eq!(person["version"], 1);

    let res = app.get(&location, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"1\"");
    assert_eq!(res.json::<Value>().await.unwrap(), person);

    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=person.created", id_of(&person)),
        )
        .await;
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn email_is_unique_case_insensitively() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche", "pharma").await;
    let org_id = id_of(&org);
    app.create_contact(&admin, Some(&org_id), "Kari", "kari@roche.com")
        .await;
    let res = app
        .post(
            "/api/v1/people",
            &admin,
            &json!({"organisation_id": org_id, "name": "Kari Again", "email": "KARI@Roche.com"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    let ola = app
        .create_contact(&admin, Some(&org_id), "Ola", "ola@roche.com")
        .await;
    let res = app
        .patch(
            &person_path(&ola),
            &admin,
            Some("\"1\""),
            &json!({"email": "Kari@ROCHE.com"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // Changing the case of one's own address is not a conflict.
    let res = app
        .patch(
            &person_path(&ola),
            &admin,
            Some("\"1\""),
            &json!({"email": "OLA@roche.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["email"], "ola@roche.com");
}

#[tokio::test]
async fn person_fields_are_validated() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche", "pharma").await;
    let org_id = id_of(&org);
    let post = |body: Value| {
        let app = &app;
        let admin = &admin;
        async move { app.post("/api/v1/people", admin, &body).await }
    };
    assert_field_error(
        post(json!({"organisation_id": org_id, "name": "Kari", "email": "kari@"})).await,
        "email",
        "invalid_format",
    )
    .await;
    assert_field_error(
        post(json!({"organisation_id": org_id, "name": "Kari", "email": "kari@roche.com", "phone": "call me"})).await,
        "phone",
        "invalid_format",
    )
    .await;
    assert_field_error(
        post(json!({"organisation_id": org_id, "name": " ", "email": "kari@roche.com"})).await,
        "name",
        "required",
    )
    .await;
    assert_field_error(
        post(json!({"organisation_id": org_id, "name": "Kari\r\nBcc: x@y.z", "email": "kari@roche.com"})).await,
        "name",
        "invalid_characters",
    )
    .await;
    assert_field_error(
        post(json!({"organisation_id": org_id, "name": "Kari", "email": "kari@roche.com", "user_id": null})).await,
        "user_id",
        "unknown_field",
    )
    .await;
    assert_field_error(
        post(json!({"organisation_id": "roche", "name": "Kari", "email": "kari@roche.com"})).await,
        "organisation_id",
        "invalid_format",
    )
    .await;
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_field_error(
        post(json!({"organisation_id": unknown, "name": "Kari", "email": "kari@roche.com"})).await,
        "organisation_id",
        "not_found",
    )
    .await;
    let archived = app.create_org(&admin, "Gone", "pharma").await;
    let res = app
        .delete(
            &format!("/api/v1/organisations/{}", id_of(&archived)),
            &admin,
            Some("\"1\""),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_field_error(
        post(
            json!({"organisation_id": id_of(&archived), "name": "Kari", "email": "kari@roche.com"}),
        )
        .await,
        "organisation_id",
        "archived",
    )
    .await;
    assert!(app.list_items("/api/v1/people", &admin).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Representatives and their organisation's contacts

#[tokio::test]
async fn representatives_add_contacts_to_their_own_organisation_by_default() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for status in ["partner", "observer", "applicant"] {
        let rep = app
            .rep(&admin, &format!("Own{}", &status[..4]), status)
            .await;
        let email = format!("contact@{status}.test");
        let res = app
            .post(
                "/api/v1/people",
                &rep.token,
                &json!({"name": "Contact", "email": email}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{status}");
        let person: Value = res.json().await.unwrap();
        assert_eq!(
            person["organisation_id"],
            rep.organisation_id.as_str(),
            "{status}"
        );
        // Naming their own organisation is the same.
        let res = app
            .post(
                "/api/v1/people",
                &rep.token,
                &json!({"organisation_id": rep.organisation_id, "name": "Second", "email": format!("second@{status}.test")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{status}");
    }
    // Suspended and withdrawn organisations' representatives change nothing.
    for status in ["suspended", "withdrawn"] {
        let rep = app
            .rep(&admin, &format!("Own{}", &status[..4]), status)
            .await;
        let res = app
            .post(
                "/api/v1/people",
                &rep.token,
                &json!({"name": "Contact", "email": format!("contact@{status}.test")}),
            )
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn representatives_cannot_add_contacts_to_other_organisations() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "partner").await;
    let partner = app.create_org(&admin, "Bravo", "pharma").await;
    app.set_status(&admin, &id_of(&partner), "partner").await;
    let applicant = app.create_org(&admin, "Charlie", "pharma").await;
    app.set_status(&admin, &id_of(&applicant), "applicant")
        .await;

    // Visible: 403. Not visible, or not there at all: 404.
    let res = app
        .post(
            "/api/v1/people",
            &rep.token,
            &json!({"organisation_id": id_of(&partner), "name": "Intruder", "email": "a@x.test"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            "/api/v1/people",
            &rep.token,
            &json!({"organisation_id": id_of(&applicant), "name": "Intruder", "email": "b@x.test"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    let res = app
        .post(
            "/api/v1/people",
            &rep.token,
            &json!({"organisation_id": uuid::Uuid::now_v7().to_string(), "name": "Intruder", "email": "c@x.test"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    assert!(
        app.list_items("/api/v1/people?q=intruder", &admin)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn representatives_cannot_edit_or_delete_other_organisations_people() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "partner").await;
    let partner = app.create_org(&admin, "Bravo", "pharma").await;
    app.set_status(&admin, &id_of(&partner), "partner").await;
    let applicant = app.create_org(&admin, "Charlie", "pharma").await;
    app.set_status(&admin, &id_of(&applicant), "applicant")
        .await;
    let visible = app
        .create_contact(&admin, Some(&id_of(&partner)), "Berit", "berit@bravo.test")
        .await;
    let hidden = app
        .create_contact(
            &admin,
            Some(&id_of(&applicant)),
            "Carl",
            "carl@charlie.test",
        )
        .await;
    let loose = app
        .create_contact(&admin, None, "Nobody", "nobody@nowhere.test")
        .await;

    assert_eq!(
        app.get(&person_path(&visible), &rep.token).await.status(),
        StatusCode::OK
    );
    let change = json!({"title": "Changed"});
    assert_problem(
        app.patch(&person_path(&visible), &rep.token, Some("\"1\""), &change)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.delete(&person_path(&visible), &rep.token, Some("\"1\""))
            .await,
        403,
        "forbidden",
    )
    .await;
    for p in [&hidden, &loose] {
        assert_problem(app.get(&person_path(p), &rep.token).await, 404, "not-found").await;
        assert_problem(
            app.patch(&person_path(p), &rep.token, Some("\"1\""), &change)
                .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(
            app.delete(&person_path(p), &rep.token, Some("\"1\"")).await,
            404,
            "not-found",
        )
        .await;
    }
    for p in [&visible, &hidden, &loose] {
        let now = app.get_ok(&person_path(p), &admin).await;
        assert_eq!(now["version"], 1, "unchanged: {now}");
    }
}

#[tokio::test]
async fn representatives_edit_their_own_people_but_do_not_move_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "observer").await;
    let other = app.create_org(&admin, "Bravo", "pharma").await;
    let own = app
        .create_contact(&rep.token, None, "Anna", "anna@alfa.test")
        .await;
    let res = app
        .patch(
            &person_path(&own),
            &rep.token,
            Some("\"1\""),
            &json!({"title": "Head of Medical Affairs"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .patch(
            &person_path(&own),
            &rep.token,
            Some("\"2\""),
            &json!({"organisation_id": id_of(&other)}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .patch(
            &person_path(&own),
            &rep.token,
            Some("\"2\""),
            &json!({"organisation_id": null}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // The secretariat may move them.
    let res = app
        .patch(
            &person_path(&own),
            &admin,
            Some("\"2\""),
            &json!({"organisation_id": id_of(&other)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["organisation_id"], id_of(&other).as_str());
    assert_eq!(moved["title"], "Head of Medical Affairs");
    // Now another organisation's (not a member): hidden from the representative.
    assert_problem(
        app.get(&person_path(&own), &rep.token).await,
        404,
        "not-found",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// If-Match, deleting, accounts

#[tokio::test]
async fn patch_person_needs_a_current_if_match() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let p = app
        .create_contact(&admin, None, "Kari", "kari@example.org")
        .await;
    let path = person_path(&p);
    let change = json!({"title": "Director", "phone": "22 00 00 00"});
    assert_problem(
        app.patch(&path, &admin, None, &change).await,
        428,
        "precondition-required",
    )
    .await;
    assert_problem(
        app.patch(&path, &admin, Some("\"2\""), &change).await,
        412,
        "precondition-failed",
    )
    .await;
    let res = app.patch(&path, &admin, Some("\"1\""), &change).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let p2: Value = res.json().await.unwrap();
    assert_eq!(p2["title"], "Director");
    assert_eq!(p2["name"], "Kari");
    assert_eq!(p2["version"], 2);
    assert_problem(
        app.patch(&path, &admin, Some("\"1\""), &json!({"name": "Lost"}))
            .await,
        412,
        "precondition-failed",
    )
    .await;
    let res = app
        .patch(&path, &admin, Some("\"2\""), &json!({"title": null}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p3: Value = res.json().await.unwrap();
    assert_eq!(p3["title"], Value::Null);
    assert_eq!(p3["phone"], "22 00 00 00");
}

#[tokio::test]
async fn delete_person_needs_if_match_and_removes_the_contact() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let p = app
        .create_contact(&admin, None, "Kari", "kari@example.org")
        .await;
    let path = person_path(&p);
    assert_problem(
        app.delete(&path, &admin, None).await,
        428,
        "precondition-required",
    )
    .await;
    assert_problem(
        app.delete(&path, &admin, Some("\"5\"")).await,
        412,
        "precondition-failed",
    )
    .await;
    let res = app.delete(&path, &admin, Some("\"1\"")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get(&path, &admin).await, 404, "not-found").await;
    assert_problem(
        app.delete(&path, &admin, Some("\"1\"")).await,
        404,
        "not-found",
    )
    .await;
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=person.deleted", id_of(&p)),
        )
        .await;
    assert_eq!(events.len(), 1);
    // The address is free again.
    app.create_contact(&admin, None, "Kari", "kari@example.org")
        .await;
}

#[tokio::test]
async fn a_person_with_a_user_account_shows_it_and_cannot_be_deleted() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche", "pharma").await;
    let p = app
        .create_contact(&admin, Some(&id_of(&org)), "Kari", "kari@roche.test")
        .await;
    let user = account_for(&app, &admin, &p, "kari.login@roche.test").await;
    assert_eq!(user["person_id"], p["id"]);
    let path = person_path(&p);
    let read = app.get_ok(&path, &admin).await;
    assert_eq!(read["user_id"], user["id"]);
    let res = app
        .delete(&path, &admin, Some(&app.current_etag(&path, &admin).await))
        .await;
    assert_problem(res, 409, "conflict").await;
    assert_eq!(app.get(&path, &admin).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Lists

#[tokio::test]
async fn people_list_filters_by_organisation_account_and_text_in_name_order() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let alfa = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    let bravo = id_of(&app.create_org(&admin, "Bravo", "pharma").await);
    let ingrid = app
        .create_contact(&admin, Some(&alfa), "Ingrid", "ingrid@alfa.test")
        .await;
    app.create_contact(&admin, Some(&alfa), "Anders", "anders@alfa.test")
        .await;
    app.create_contact(&admin, Some(&bravo), "Helga", "helga@bravo.test")
        .await;
    app.create_contact(&admin, Some(&bravo), "Erik", "erik@mail.test")
        .await;
    app.create_contact(&admin, None, "Dagny", "dagny@bravo.test")
        .await;
    account_for(&app, &admin, &ingrid, "ingrid.login@alfa.test").await;

    let names = |q: String| {
        let app = &app;
        let admin = &admin;
        async move { names_of(&app.list_items(&format!("/api/v1/people?{q}"), admin).await) }
    };
    assert_eq!(
        names(String::new()).await,
        ["Anders", "Dagny", "Erik", "Helga", "Ingrid"]
    );
    assert_eq!(
        names(format!("organisation_id={alfa}")).await,
        ["Anders", "Ingrid"]
    );
    assert_eq!(names("has_account=true".into()).await, ["Ingrid"]);
    assert_eq!(
        names("has_account=false".into()).await,
        ["Anders", "Dagny", "Erik", "Helga"]
    );
    assert_eq!(names("q=HELG".into()).await, ["Helga"], "name");
    assert_eq!(
        names("q=BRAVO.test".into()).await,
        ["Dagny", "Helga"],
        "email"
    );
    assert_eq!(
        names(format!("q=bravo&organisation_id={bravo}")).await,
        ["Helga"]
    );
    assert!(
        names("q=%25".into()).await.is_empty(),
        "% matches literally"
    );
    let res = app.get("/api/v1/people?organisation_id=alfa", &admin).await;
    assert_field_error(res, "organisation_id", "invalid_format").await;
    let res = app.get("/api/v1/people?team=x", &admin).await;
    assert_field_error(res, "team", "unknown_parameter").await;

    // The same through the organisation's own path.
    let items = app
        .list_items(&format!("/api/v1/organisations/{alfa}/people"), &admin)
        .await;
    assert_eq!(names_of(&items), ["Anders", "Ingrid"]);
    let items = app
        .list_items(
            &format!("/api/v1/organisations/{alfa}/people?has_account=true"),
            &admin,
        )
        .await;
    assert_eq!(names_of(&items), ["Ingrid"]);
    assert!(items[0]["user_id"].is_string());
    let res = app
        .get(
            &format!("/api/v1/organisations/{}/people", uuid::Uuid::now_v7()),
            &admin,
        )
        .await;
    assert_problem(res, 404, "not-found").await;
}

#[tokio::test]
async fn people_list_pages_by_cursor_and_caps_the_limit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let names = [
        "Gunnar", "Astrid", "Frode", "Bodil", "Eirik", "Camilla", "Dag",
    ];
    for (i, n) in names.iter().enumerate() {
        app.create_contact(&admin, None, n, &format!("p{i}@example.org"))
            .await;
    }
    let mut expected: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    let mut seen = Vec::new();
    let mut path = "/api/v1/people?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get_ok(&path, &admin).await;
        seen.extend(names_of(page["items"].as_array().unwrap()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/people?limit=2&cursor={c}"),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, expected);
    assert_field_error(
        app.get("/api/v1/people?limit=201", &admin).await,
        "limit",
        "out_of_range",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/people?limit=200", &admin).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn people_lists_show_only_the_people_a_caller_may_see() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let partner = app.rep(&admin, "Alfa", "partner").await;
    let applicant = app.rep(&admin, "Bravo", "applicant").await;
    let observer = app.create_org(&admin, "Charlie", "pharma").await;
    app.set_status(&admin, &id_of(&observer), "observer").await;
    let archived = app.create_org(&admin, "Delta", "pharma").await;
    app.set_status(&admin, &id_of(&archived), "partner").await;
    let suspended = app.create_org(&admin, "Echo", "pharma").await;
    app.set_status(&admin, &id_of(&suspended), "suspended")
        .await;

    app.create_contact(
        &admin,
        Some(&partner.organisation_id),
        "Aase",
        "aase@alfa.test",
    )
    .await;
    app.create_contact(
        &admin,
        Some(&applicant.organisation_id),
        "Bente",
        "bente@bravo.test",
    )
    .await;
    app.create_contact(&admin, Some(&id_of(&observer)), "Cato", "cato@charlie.test")
        .await;
    app.create_contact(&admin, Some(&id_of(&archived)), "Dina", "dina@delta.test")
        .await;
    app.create_contact(&admin, Some(&id_of(&suspended)), "Even", "even@echo.test")
        .await;
    app.create_contact(&admin, None, "Frida", "frida@nowhere.test")
        .await;
    let path = format!("/api/v1/organisations/{}", id_of(&archived));
    let res = app
        .delete(&path, &admin, Some(&app.current_etag(&path, &admin).await))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let all = names_of(&app.list_items("/api/v1/people", &admin).await);
    assert_eq!(all, ["Aase", "Bente", "Cato", "Dina", "Even", "Frida"]);
    let seen = names_of(&app.list_items("/api/v1/people", &partner.token).await);
    assert_eq!(
        seen,
        ["Aase", "Cato"],
        "own and member organisations' people"
    );
    let seen = names_of(&app.list_items("/api/v1/people", &applicant.token).await);
    assert_eq!(seen, ["Bente"], "own organisation's people only");
    // Filtering for another organisation does not widen the view.
    let seen = app
        .list_items(
            &format!("/api/v1/people?organisation_id={}", id_of(&suspended)),
            &partner.token,
        )
        .await;
    assert!(seen.is_empty());
    let res = app
        .get(
            &format!("/api/v1/organisations/{}/people", partner.organisation_id),
            &applicant.token,
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    let seen = app
        .list_items(
            &format!("/api/v1/organisations/{}/people", id_of(&observer)),
            &partner.token,
        )
        .await;
    assert_eq!(names_of(&seen), ["Cato"]);
}

// ---------------------------------------------------------------------------------------------
// CSV

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn people_csv_export_has_a_header_row_honours_filters_and_neutralises_formulas() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let alfa = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    let bravo = id_of(&app.create_org(&admin, "Bravo", "pharma").await);
    let res = app
        .post(
            "/api/v1/people",
            &admin,
            &json!({"organisation_id": alfa, "name": "=cmd|' /C calc'!A0", "email": "formula@alfa.test",
                    "title": "@SUM(1+1)", "phone": "+47 900 00 000"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let plain = app
        .create_contact(&admin, Some(&alfa), "Plain", "plain@alfa.test")
        .await;
    account_for(&app, &admin, &plain, "plain.login@alfa.test").await;
    app.create_contact(&admin, Some(&bravo), "Other", "other@bravo.test")
        .await;

    let res = app
        .get_csv(&format!("/api/v1/people?organisation_id={alfa}"), &admin)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let rows = csv_rows(&res.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "id",
            "organisation_id",
            "name",
            "email",
            "title",
            "phone",
            "has_account",
            "updated_at"
        ]
    );
    assert_eq!(rows.len(), 3, "header + the two Alfa people: {rows:?}");
    // Sorted by name: "'=cmd…" sorts by the stored "=cmd…", before "Plain".
    let formula = rows.iter().find(|r| r[3] == "formula@alfa.test").unwrap();
    assert_eq!(formula[1], alfa);
    assert_eq!(formula[2], "'=cmd|' /C calc'!A0");
    assert_eq!(formula[4], "'@SUM(1+1)");
    assert_eq!(
        formula[5], "+47 900 00 000",
        "a phone number is left as it is"
    );
    assert_eq!(formula[6], "false");
    let plain_row = rows.iter().find(|r| r[3] == "plain@alfa.test").unwrap();
    assert_eq!(plain_row[2], "Plain");
    assert_eq!(plain_row[6], "true");

    // Through the organisation's path, and with the has_account filter.
    let res = app
        .get_csv(
            &format!("/api/v1/organisations/{alfa}/people?has_account=true"),
            &admin,
        )
        .await;
    let rows = csv_rows(&res.text().await.unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][2], "Plain");
}

/// The name search is a substring search through an index (SQLite's FTS5 trigram tables, kept by
/// triggers; pg_trgm on PostgreSQL): it folds case over all of Unicode, takes quotes and spaces
/// literally, and follows every rename and deletion. Text under three characters, which no trigram
/// can match, is still searched (by a scan).
#[tokio::test]
async fn name_search_folds_unicode_case_and_follows_changes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    let oyvind = app
        .create_contact(&admin, Some(&org), "Øyvind Ærlig", "oyvind@alfa.test")
        .await;
    let nan = app
        .create_contact(&admin, Some(&org), "Anne \"Nan\" Berg", "anne@alfa.test")
        .await;
    app.create_contact(&admin, Some(&org), "Ola Nordmann", "ola@beta.test")
        .await;
    let names = |q: &str| {
        let (app, admin) = (&app, &admin);
        let path = format!("/api/v1/people?q={}", urlencoding(q));
        async move { names_of(&app.list_items(&path, admin).await) }
    };
    assert_eq!(names("ØYVIND").await, ["Øyvind Ærlig"], "upper case Ø");
    assert_eq!(names("ærlig").await, ["Øyvind Ærlig"], "lower case æ");
    assert_eq!(names("vind ær").await, ["Øyvind Ærlig"], "across a space");
    assert_eq!(names("\"nan\"").await, ["Anne \"Nan\" Berg"], "quotes");
    assert_eq!(names("\"nan").await.len(), 1, "an unbalanced quote");
    assert_eq!(names("beta.te").await, ["Ola Nordmann"], "e-mail");
    assert_eq!(
        names("Be").await,
        ["Anne \"Nan\" Berg", "Ola Nordmann"],
        "two characters"
    );
    assert!(names("xyz").await.is_empty());

    let res = app
        .patch(
            &person_path(&oyvind),
            &admin,
            Some("\"1\""),
            &json!({"name": "Kari Nordmann", "email": "kari@gamma.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(names("Øyvind").await.is_empty(), "the old name is gone");
    assert!(names("oyvind@").await.is_empty(), "the old e-mail is gone");
    assert_eq!(names("nordmann").await, ["Kari Nordmann", "Ola Nordmann"]);
    assert_eq!(names("gamma").await, ["Kari Nordmann"]);

    let res = app.delete(&person_path(&nan), &admin, Some("\"1\"")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(names("Berg").await.is_empty(), "a deleted person is gone");
    assert_eq!(
        names("nordmann").await,
        ["Kari Nordmann", "Ola Nordmann"],
        "the others stay"
    );
}

/// `text` as a query-string value (every byte but letters and digits percent-encoded).
fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Pages are cut by the row value (name, id): people sharing a name are neither repeated nor
/// skipped from one page to the next, and a name search pages the same way.
#[tokio::test]
async fn pages_walk_through_people_sharing_a_name() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    let mut expected = Vec::new();
    for i in 0..7 {
        let p = app
            .create_contact(
                &admin,
                Some(&org),
                "Kari Nordmann",
                &format!("kari{i}@alfa.test"),
            )
            .await;
        expected.push(id_of(&p));
    }
    app.create_contact(&admin, Some(&org), "Anders", "anders@alfa.test")
        .await;
    app.create_contact(&admin, Some(&org), "Per", "per@alfa.test")
        .await;
    expected.sort();
    for query in ["", "q=nordmann&"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
            let page = app
                .get_ok(&format!("/api/v1/people?{query}limit=2{after}"), &admin)
                .await;
            seen.extend(
                page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p["name"].as_str().unwrap().to_owned(), id_of(p))),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let karis: Vec<String> = seen
            .iter()
            .filter(|(name, _)| name == "Kari Nordmann")
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(karis, expected, "{query}: every Kari once, in id order");
        let others = seen.len() - karis.len();
        assert_eq!(others, if query.is_empty() { 2 } else { 0 }, "{query}");
    }
}

/// A word so common that the trigram index would hand back more than a thousand people is searched
/// by reading the list in name order instead (a page fills at once): the matches are the same, and
/// case still folds over all of Unicode (SQLite's own lower() folds ASCII only).
#[tokio::test]
async fn a_common_word_finds_the_same_people_in_name_order() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    {
        let mut conn = app.db_conn();
        let now = "2026-12-06 12:00:00";
        let values: Vec<String> = (0..1100)
            .map(|i| {
                format!(
                    "('{}', '{org}', 'Ærlig Østby {i:04}', 'aerlig{i}@alfa.test', '{now}', '{now}')",
                    uuid::Uuid::now_v7()
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO people (id, organisation_id, name, email, created_at, updated_at) VALUES {}",
            values.join(", ")
        ))
        .execute(&mut conn)
        .unwrap();
    }
    app.create_contact(&admin, Some(&org), "Kari Nordmann", "kari@alfa.test")
        .await;
    for q in ["ÆRLIG%20ØSTBY", "rlig%20%C3%B8st", "%C3%A6rlig"] {
        let page = app
            .get_ok(&format!("/api/v1/people?q={q}&limit=3"), &admin)
            .await;
        assert_eq!(
            names_of(page["items"].as_array().unwrap()),
            ["Ærlig Østby 0000", "Ærlig Østby 0001", "Ærlig Østby 0002"],
            "{q}"
        );
    }
    let page = app
        .get_ok("/api/v1/people?q=%C3%B8stby%201099", &admin)
        .await;
    assert_eq!(
        names_of(page["items"].as_array().unwrap()),
        ["Ærlig Østby 1099"]
    );
    let page = app.get_ok("/api/v1/people?q=nordm", &admin).await;
    assert_eq!(
        names_of(page["items"].as_array().unwrap()),
        ["Kari Nordmann"]
    );
}
