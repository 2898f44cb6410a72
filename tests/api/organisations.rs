//! The organisation register: fields and their rules, editing with `If-Match`, filters, cursor
//! pagination, archiving, CSV export, and membership changes with their history.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn create(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/organisations", admin, &body).await
}

fn org_body(name: &str) -> Value {
    json!({"name": name, "kind": "pharma", "sector": "private"})
}

// ---------------------------------------------------------------------------------------------
// Creating and the field rules

#[tokio::test]
async fn create_answers_201_with_location_etag_and_defaults() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = create(
        &app,
        &admin,
        json!({"name": "  Roche Norge AS ", "short_name": "Roche", "kind": "pharma", "sector": "private",
               "org_number": "974760673", "website": "https://www.roche.no"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let org: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/organisations/{}", id_of(&org)));
    assert_eq!(org["name"], "Roche Norge AS", "name is trimmed");
    assert_eq!(org["short_name"], "Roche");
    assert_eq!(org["kind"], "pharma");
    assert_eq!(org["sector"], "private");
    assert_eq!(org["org_number"], "974760673");
    assert_eq!(org["country"], "NO", "country defaults to NO");
    assert_eq!(org["website"], "https://www.roche.no");
    assert_eq!(org["health_region"], Value::Null);
    assert_eq!(org["trial_site"], false);
    assert_eq!(org["founding_partner"], false);
    assert_eq!(org["membership_status"], "none");
    assert_eq!(org["joined_on"], Value::Null);
    assert_eq!(org["left_on"], Value::Null);
    assert_eq!(org["archived_at"], Value::Null);
    assert_eq!(org["version"], 1);

    let res = app.get(&location, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"1\"");
    let read: Value = res.json().await.unwrap();
    assert_eq!(read, org);
}

#[tokio::test]
async fn org_number_needs_nine_digits_and_a_valid_mod11_check_digit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut bad = org_body("Checkdigit");
    bad["org_number"] = json!("974760674");
    let problem = assert_field_error(
        create(&app, &admin, bad).await,
        "org_number",
        "invalid_check_digit",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");

    for short in ["97476067", "97476067x", "9747606730"] {
        let mut body = org_body("Checkdigit");
        body["org_number"] = json!(short);
        assert_field_error(
            create(&app, &admin, body).await,
            "org_number",
            "invalid_format",
        )
        .await;
    }

    let mut good = org_body("Checkdigit");
    good["org_number"] = json!("974 760 673");
    let res = create(&app, &admin, good).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["org_number"], "974760673", "spaces are removed");

    // Foreign companies need none.
    let mut foreign = org_body("Foreignco");
    foreign["country"] = json!("CH");
    let res = create(&app, &admin, foreign).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["org_number"], Value::Null);
    assert_eq!(org["country"], "CH");
}

#[tokio::test]
async fn country_must_be_an_iso_alpha2_code() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for bad in ["no", "NOR", "N", "1A"] {
        let mut body = org_body("Countryco");
        body["country"] = json!(bad);
        assert_field_error(
            create(&app, &admin, body).await,
            "country",
            "invalid_format",
        )
        .await;
    }
    let mut body = org_body("Countryco");
    body["country"] = json!("SE");
    assert_eq!(
        create(&app, &admin, body).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn website_must_be_an_http_or_https_url() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for bad in [
        "ftp://example.org",
        "www.example.org",
        "javascript:alert(1)",
        "https://exa mple.org",
        "https://localhost",
    ] {
        let mut body = org_body("Webco");
        body["website"] = json!(bad);
        assert_field_error(
            create(&app, &admin, body).await,
            "website",
            "invalid_format",
        )
        .await;
    }
    for (i, good) in ["http://example.org", "https://www.example.org/about"]
        .into_iter()
        .enumerate()
    {
        let mut body = org_body(&format!("Webco{}", ["a", "b"][i]));
        body["website"] = json!(good);
        let res = create(&app, &admin, body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{good}");
    }
}

#[tokio::test]
async fn health_region_applies_only_to_hospitals() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut body = org_body("Regionpharma");
    body["health_region"] = json!("west");
    assert_field_error(
        create(&app, &admin, body).await,
        "health_region",
        "not_applicable",
    )
    .await;

    let res = create(
        &app,
        &admin,
        json!({"name": "Haukeland", "kind": "hospital", "sector": "public", "health_region": "west", "trial_site": true}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hospital: Value = res.json().await.unwrap();
    assert_eq!(hospital["health_region"], "west");
    assert_eq!(hospital["trial_site"], true);

    // A pharma company cannot be given one later either, and a hospital cannot become pharma
    // while it keeps its region.
    let pharma = app.create_org(&admin, "Laterpharma", "pharma").await;
    let res = app
        .patch(
            &format!("/api/v1/organisations/{}", id_of(&pharma)),
            &admin,
            Some("\"1\""),
            &json!({"health_region": "north"}),
        )
        .await;
    assert_field_error(res, "health_region", "not_applicable").await;
    let res = app
        .patch(
            &format!("/api/v1/organisations/{}", id_of(&hospital)),
            &admin,
            Some("\"1\""),
            &json!({"kind": "pharma"}),
        )
        .await;
    assert_field_error(res, "health_region", "not_applicable").await;

    // An unknown region is not accepted.
    let res = create(
        &app,
        &admin,
        json!({"name": "Somewhere", "kind": "hospital", "sector": "public", "health_region": "east"}),
    )
    .await;
    assert_field_error(res, "health_region", "invalid_value").await;
}

#[tokio::test]
async fn kind_and_sector_must_be_known_values_and_name_is_required() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = create(
        &app,
        &admin,
        json!({"name": "Kindco", "kind": "bank", "sector": "private"}),
    )
    .await;
    assert_field_error(res, "kind", "invalid_value").await;
    let res = create(
        &app,
        &admin,
        json!({"name": "Kindco", "kind": "pharma", "sector": "feudal"}),
    )
    .await;
    assert_field_error(res, "sector", "invalid_value").await;
    let res = create(
        &app,
        &admin,
        json!({"name": "   ", "kind": "pharma", "sector": "private"}),
    )
    .await;
    assert_field_error(res, "name", "required").await;
    let res = create(&app, &admin, json!({"kind": "pharma", "sector": "private"})).await;
    assert_field_error(res, "name", "required").await;
}

#[tokio::test]
async fn membership_status_cannot_be_set_on_create_or_patch() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut body = org_body("Sneaky");
    body["membership_status"] = json!("partner");
    assert_field_error(
        create(&app, &admin, body).await,
        "membership_status",
        "unknown_field",
    )
    .await;

    let org = app.create_org(&admin, "Sneaky", "pharma").await;
    let path = format!("/api/v1/organisations/{}", id_of(&org));
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"membership_status": "partner"}),
        )
        .await;
    assert_field_error(res, "membership_status", "unknown_field").await;
    for field in ["joined_on", "left_on", "archived_at", "version", "id"] {
        let mut body = json!({});
        body[field] = Value::Null;
        let res = app.patch(&path, &admin, Some("\"1\""), &body).await;
        assert_field_error(res, field, "unknown_field").await;
    }
    let after = app.get_ok(&path, &admin).await;
    assert_eq!(after["membership_status"], "none");
    assert_eq!(after["version"], 1);
}

#[tokio::test]
async fn duplicate_name_case_insensitive_or_org_number_answers_409() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut first = org_body("Novartis");
    first["org_number"] = json!("974760673");
    assert_eq!(
        create(&app, &admin, first).await.status(),
        StatusCode::CREATED
    );

    assert_problem(
        create(&app, &admin, org_body("NOVARTIS")).await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        create(&app, &admin, org_body(" novartis ")).await,
        409,
        "conflict",
    )
    .await;
    let mut same_number = org_body("Othername");
    same_number["org_number"] = json!("974760673");
    assert_problem(create(&app, &admin, same_number).await, 409, "conflict").await;

    // Renaming into a taken name, or taking a registered number, is a conflict too.
    let other = app.create_org(&admin, "Othername", "pharma").await;
    let path = format!("/api/v1/organisations/{}", id_of(&other));
    let res = app
        .patch(&path, &admin, Some("\"1\""), &json!({"name": "novartis"}))
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"org_number": "974760673"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // Its own name in another case is no conflict with itself.
    let res = app
        .patch(&path, &admin, Some("\"1\""), &json!({"name": "OTHERNAME"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_admins_create_organisations() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Repco", "partner").await;
    assert_problem(
        create(&app, &rep.token, org_body("Newco")).await,
        403,
        "forbidden",
    )
    .await;
    let res = app
        .post_anon("/api/v1/organisations", &org_body("Newco"))
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let all = app
        .list_items("/api/v1/organisations?q=newco", &admin)
        .await;
    assert!(all.is_empty(), "nothing was created: {all:?}");
}

// ---------------------------------------------------------------------------------------------
// Reading and editing

#[tokio::test]
async fn get_of_an_unknown_or_malformed_id() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .get(
            &format!("/api/v1/organisations/{}", uuid::Uuid::now_v7()),
            &admin,
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    let res = app.get("/api/v1/organisations/not-a-uuid", &admin).await;
    assert_problem(res, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn patch_needs_if_match_and_bumps_the_version() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Patchco", "pharma").await;
    let path = format!("/api/v1/organisations/{}", id_of(&org));
    let change = json!({"website": "https://patchco.example.org", "short_name": "PC"});

    let res = app.patch(&path, &admin, None, &change).await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app.patch(&path, &admin, Some("\"7\""), &change).await;
    assert_problem(res, 412, "precondition-failed").await;
    assert_eq!(app.get_ok(&path, &admin).await["version"], 1);

    let res = app.patch(&path, &admin, Some("\"1\""), &change).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["website"], "https://patchco.example.org");
    assert_eq!(updated["short_name"], "PC");
    assert_eq!(updated["name"], "Patchco", "absent fields stay");
    assert_eq!(updated["version"], 2);

    // The old ETag no longer matches: no edit is lost.
    let res = app
        .patch(&path, &admin, Some("\"1\""), &json!({"short_name": "X"}))
        .await;
    assert_problem(res, 412, "precondition-failed").await;

    // null clears an optional field.
    let res = app
        .patch(&path, &admin, Some("\"2\""), &json!({"website": null}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cleared: Value = res.json().await.unwrap();
    assert_eq!(cleared["website"], Value::Null);
    assert_eq!(cleared["short_name"], "PC");

    // The change is audited.
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=organisation.updated", id_of(&org)),
        )
        .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1]["changes"]["website"]["to"],
        "https://patchco.example.org"
    );
}

#[tokio::test]
async fn representatives_edit_their_own_profile_but_not_trial_site_or_founding_partner() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Ownco", "partner").await;
    let path = format!("/api/v1/organisations/{}", rep.organisation_id);
    let v = etag(&app.get(&path, &rep.token).await);

    let res = app
        .patch(
            &path,
            &rep.token,
            Some(&v),
            &json!({"website": "https://ownco.example.org", "short_name": "Own", "org_number": "974760673"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v = etag(&res);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["website"], "https://ownco.example.org");

    for body in [
        json!({"trial_site": true}),
        json!({"founding_partner": true}),
        json!({"website": "https://x.example.org", "trial_site": false}),
    ] {
        let res = app.patch(&path, &rep.token, Some(&v), &body).await;
        assert_problem(res, 403, "forbidden").await;
    }
    let res = app
        .patch(
            &path,
            &rep.token,
            Some(&v),
            &json!({"membership_status": "partner"}),
        )
        .await;
    assert_field_error(res, "membership_status", "unknown_field").await;

    let after = app.get_ok(&path, &admin).await;
    assert_eq!(after["website"], "https://ownco.example.org");
    assert_eq!(after["trial_site"], false);
    assert_eq!(after["founding_partner"], false);

    // The secretariat may set them.
    let res = app
        .patch(
            &path,
            &admin,
            Some(&v),
            &json!({"trial_site": true, "founding_partner": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["trial_site"], true);
    assert_eq!(org["founding_partner"], true);
}

// ---------------------------------------------------------------------------------------------
// Lists: filters, search, pagination

/// A register with variety, for the filter tests.
async fn seed_register(app: &TestApp, admin: &str) {
    let bodies = [
        json!({"name": "Alfa", "short_name": "ALF", "kind": "pharma", "sector": "private", "org_number": "974760673", "founding_partner": true}),
        json!({"name": "Bravo", "kind": "biotech", "sector": "private", "country": "SE"}),
        json!({"name": "Charlie", "kind": "hospital", "sector": "public", "health_region": "west", "trial_site": true}),
        json!({"name": "Delta", "kind": "hospital", "sector": "public", "health_region": "north"}),
        json!({"name": "Echo", "short_name": "Medico", "kind": "authority", "sector": "public"}),
        json!({"name": "Foxtrot", "kind": "pharma", "sector": "private", "country": "DK"}),
    ];
    let mut ids = Vec::new();
    for b in bodies {
        let res = create(app, admin, b).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        ids.push(id_of(&res.json::<Value>().await.unwrap()));
    }
    app.set_status(admin, &ids[0], "partner").await; // Alfa
    app.set_status(admin, &ids[1], "observer").await; // Bravo
    app.set_status(admin, &ids[2], "partner").await; // Charlie
    app.set_status(admin, &ids[3], "applicant").await; // Delta
    app.set_status(admin, &ids[4], "observer").await; // Echo
    app.set_status(admin, &ids[5], "withdrawn").await; // Foxtrot
}

#[tokio::test]
async fn list_filters_by_each_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    seed_register(&app, &admin).await;
    let names = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            names_of(
                &app.list_items(&format!("/api/v1/organisations?{q}"), admin)
                    .await,
            )
        }
    };
    assert_eq!(
        names("").await,
        ["Alfa", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    );
    assert_eq!(names("kind=hospital").await, ["Charlie", "Delta"]);
    assert_eq!(names("membership_status=observer").await, ["Bravo", "Echo"]);
    assert_eq!(
        names("membership_status=partner,observer").await,
        ["Alfa", "Bravo", "Charlie", "Echo"]
    );
    assert_eq!(
        names("membership_status=applicant,%20withdrawn").await,
        ["Delta", "Foxtrot"]
    );
    assert_eq!(names("health_region=north").await, ["Delta"]);
    assert_eq!(names("trial_site=true").await, ["Charlie"]);
    assert_eq!(
        names("trial_site=false").await,
        ["Alfa", "Bravo", "Delta", "Echo", "Foxtrot"]
    );
    assert_eq!(names("founding_partner=true").await, ["Alfa"]);
    assert_eq!(names("country=SE").await, ["Bravo"]);
    assert_eq!(names("country=NO&kind=pharma").await, ["Alfa"]);
    assert_eq!(
        names("membership_status=partner&kind=hospital&trial_site=true").await,
        ["Charlie"]
    );
    assert!(names("membership_status=suspended").await.is_empty());
}

#[tokio::test]
async fn list_searches_name_short_name_and_org_number_case_insensitively() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    seed_register(&app, &admin).await;
    let search = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            names_of(
                &app.list_items(&format!("/api/v1/organisations?q={q}"), admin)
                    .await,
            )
        }
    };
    assert_eq!(search("ALFA").await, ["Alfa"], "name, upper case");
    assert_eq!(search("rav").await, ["Bravo"], "part of a name");
    assert_eq!(search("medico").await, ["Echo"], "short name");
    assert_eq!(search("alf").await, ["Alfa"], "short name ALF or name");
    assert_eq!(search("760673").await, ["Alfa"], "organisation number");
    assert!(search("zulu").await.is_empty());
    // LIKE wildcards in the search text match literally.
    assert!(search("%25").await.is_empty());
    assert!(search("_").await.is_empty());
}

#[tokio::test]
async fn list_rejects_unknown_filter_values_and_parameters() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .get(
            "/api/v1/organisations?membership_status=partner,member",
            &admin,
        )
        .await;
    assert_field_error(res, "membership_status", "invalid_value").await;
    let res = app.get("/api/v1/organisations?kind=bank", &admin).await;
    assert_field_error(res, "kind", "invalid_value").await;
    let res = app
        .get("/api/v1/organisations?trial_site=maybe", &admin)
        .await;
    assert_field_error(res, "trial_site", "invalid_value").await;
    let res = app.get("/api/v1/organisations?colour=red", &admin).await;
    assert_field_error(res, "colour", "unknown_parameter").await;
}

#[tokio::test]
async fn list_pages_by_cursor_in_name_order() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // Created out of order; listed by name.
    let names = [
        "Kilo", "Alfa", "Hotel", "Echo", "India", "Bravo", "Golf", "Charlie", "Juliett", "Delta",
        "Foxtrot",
    ];
    for n in names {
        app.create_org(&admin, n, "pharma").await;
    }
    let mut expected: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/api/v1/organisations?limit=3".to_owned(),
            Some(c) => format!("/api/v1/organisations?limit=3&cursor={c}"),
        };
        let page = app.get_ok(&path, &admin).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(names_of(items));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, expected);

    // A page exactly filled has no next cursor when nothing follows.
    let page = app.get_ok("/api/v1/organisations?limit=11", &admin).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 11);
    assert_eq!(page["next_cursor"], Value::Null);

    // Filters hold across pages.
    let first = app
        .get_ok("/api/v1/organisations?limit=1&q=o", &admin)
        .await;
    assert_eq!(names_of(first["items"].as_array().unwrap()), ["Bravo"]);
    let c = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_ok(
            &format!("/api/v1/organisations?limit=5&q=o&cursor={c}"),
            &admin,
        )
        .await;
    assert_eq!(
        names_of(second["items"].as_array().unwrap()),
        ["Echo", "Foxtrot", "Golf", "Hotel", "Kilo"]
    );
}

#[tokio::test]
async fn list_limit_is_capped_at_200_and_cursor_must_be_one_given_out() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app.get("/api/v1/organisations?limit=200", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    for bad in ["201", "0", "-1"] {
        let res = app
            .get(&format!("/api/v1/organisations?limit={bad}"), &admin)
            .await;
        assert_field_error(res, "limit", "out_of_range").await;
    }
    let res = app
        .get("/api/v1/organisations?cursor=definitely-not-ours", &admin)
        .await;
    assert_problem(res, 400, "invalid-parameter").await;
}

// ---------------------------------------------------------------------------------------------
// Archiving

#[tokio::test]
async fn archive_hides_from_lists_and_restore_brings_back() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Watcher", "partner").await;
    let org = app.create_org(&admin, "Archiveco", "pharma").await;
    let id = id_of(&org);
    app.set_status(&admin, &id, "partner").await;
    let path = format!("/api/v1/organisations/{id}");
    let v = etag(&app.get(&path, &admin).await);
    assert_eq!(app.get(&path, &rep.token).await.status(), StatusCode::OK);

    // DELETE needs If-Match, and a current one.
    assert_problem(
        app.delete(&path, &admin, None).await,
        428,
        "precondition-required",
    )
    .await;
    assert_problem(
        app.delete(&path, &admin, Some("\"99\"")).await,
        412,
        "precondition-failed",
    )
    .await;
    let res = app.delete(&path, &admin, Some(&v)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.text().await.unwrap().is_empty());

    // Still there for the admin, with archived_at and a new version; gone for everyone else.
    let res = app.get(&path, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(etag(&res), v);
    let archived: Value = res.json().await.unwrap();
    assert!(archived["archived_at"].is_string());
    assert_eq!(archived["membership_status"], "partner");
    assert_problem(app.get(&path, &rep.token).await, 404, "not-found").await;

    let listed = names_of(&app.list_items("/api/v1/organisations", &admin).await);
    assert!(!listed.contains(&"Archiveco".to_owned()), "{listed:?}");
    let listed = names_of(
        &app.list_items("/api/v1/organisations?include_archived=true", &admin)
            .await,
    );
    assert!(listed.contains(&"Archiveco".to_owned()), "{listed:?}");
    let listed = names_of(
        &app.list_items("/api/v1/organisations?include_archived=true", &rep.token)
            .await,
    );
    assert!(
        !listed.contains(&"Archiveco".to_owned()),
        "include_archived is for admins only: {listed:?}"
    );

    // Archived records are not edited, nor their membership changed.
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"short_name": "A"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = app
        .post(
            &format!("{path}/membership-changes"),
            &admin,
            &json!({"to_status": "observer", "effective_date": "2024-02-01", "reason": "x"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // Restore brings it back.
    let res = app
        .post(&format!("{path}/restore"), &admin, &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let restored: Value = res.json().await.unwrap();
    assert_eq!(restored["archived_at"], Value::Null);
    assert_eq!(app.get(&path, &rep.token).await.status(), StatusCode::OK);
    let listed = names_of(&app.list_items("/api/v1/organisations", &admin).await);
    assert!(listed.contains(&"Archiveco".to_owned()));

    let actions: Vec<String> = app
        .audit_events(&admin, &format!("record_id={id}"))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"organisation.archived".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"organisation.restored".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn only_admins_archive_or_restore() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Selfish", "partner").await;
    let path = format!("/api/v1/organisations/{}", rep.organisation_id);
    assert_problem(
        app.delete(
            &path,
            &rep.token,
            Some(&app.current_etag(&path, &admin).await),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(&format!("{path}/restore"), &rep.token, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let org = app.get_ok(&path, &admin).await;
    assert_eq!(org["archived_at"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// CSV export

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
async fn csv_export_has_a_header_row_one_line_per_match_and_honours_filters() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    seed_register(&app, &admin).await;
    let res = app
        .get_csv("/api/v1/organisations?kind=hospital", &admin)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let rows = csv_rows(&res.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "id",
            "name",
            "short_name",
            "kind",
            "sector",
            "org_number",
            "country",
            "website",
            "health_region",
            "trial_site",
            "membership_status",
            "founding_partner",
            "joined_on",
            "left_on",
            "archived_at",
            "updated_at"
        ]
    );
    assert_eq!(rows.len(), 3, "header + Charlie + Delta: {rows:?}");
    assert_eq!(rows[1][1], "Charlie");
    assert_eq!(rows[1][3], "hospital");
    assert_eq!(rows[1][8], "west");
    assert_eq!(rows[1][9], "true");
    assert_eq!(rows[1][10], "partner");
    assert_eq!(rows[1][12], "2024-01-01");
    assert_eq!(rows[2][1], "Delta");

    // More than a JSON page would hold: CSV lists every match, ignoring limit.
    let res = app
        .get_csv(
            "/api/v1/organisations?membership_status=partner,observer&limit=1",
            &admin,
        )
        .await;
    let rows = csv_rows(&res.text().await.unwrap());
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["Alfa", "Bravo", "Charlie", "Echo"]);

    // JSON stays the default.
    let res = app.get("/api/v1/organisations", &admin).await;
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn csv_export_neutralises_formula_cells() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (name, short) in [
        ("=HYPERLINK(\"http://evil.example\")", "+1"),
        ("@SUM(A1)", "-2"),
        ("Plain", "Safe"),
    ] {
        let res = create(
            &app,
            &admin,
            json!({"name": name, "short_name": short, "kind": "pharma", "sector": "private"}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = app.get_csv("/api/v1/organisations", &admin).await;
    let rows = csv_rows(&res.text().await.unwrap());
    let by_short = |s: &str| {
        rows.iter()
            .find(|r| r[2] == s)
            .unwrap_or_else(|| panic!("no row with short name {s}: {rows:?}"))
            .clone()
    };
    // Plain numbers cannot call anything and stay as they are.
    assert_eq!(by_short("+1")[1], "'=HYPERLINK(\"http://evil.example\")");
    assert_eq!(by_short("-2")[1], "'@SUM(A1)");
    assert_eq!(by_short("Safe")[1], "Plain");
}

#[tokio::test]
async fn csv_export_shows_only_what_the_caller_may_see() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    seed_register(&app, &admin).await;
    let rep = app.rep(&admin, "Zulu", "applicant").await;
    let res = app.get_csv("/api/v1/organisations", &rep.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows = csv_rows(&res.text().await.unwrap());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1], "Zulu");
}

#[tokio::test]
async fn csv_times_are_written_as_the_json_writes_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Timeco", "pharma").await;
    let res = app.get_csv("/api/v1/organisations", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows = csv_rows(&res.text().await.unwrap());
    let updated = rows[0].iter().position(|h| h == "updated_at").unwrap();
    assert_eq!(rows[1][1], "Timeco");
    assert_eq!(rows[1][updated], org["updated_at"].as_str().unwrap());
    assert!(rows[1][updated].ends_with('Z'), "{rows:?}");
}

// ---------------------------------------------------------------------------------------------
// Membership changes

const STATUSES: [&str; 6] = [
    "none",
    "applicant",
    "partner",
    "observer",
    "suspended",
    "withdrawn",
];

fn allowed(from: &str) -> &'static [&'static str] {
    match from {
        "none" => &["applicant", "partner", "observer"],
        "applicant" => &["partner", "observer", "none"],
        "partner" => &["observer", "suspended", "withdrawn"],
        "observer" => &["partner", "suspended", "withdrawn"],
        "suspended" => &["partner", "observer", "withdrawn"],
        "withdrawn" => &["applicant"],
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn membership_changes_follow_the_allowed_transitions_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let letters = ["a", "b", "c", "d", "e", "f"];
    for (i, from) in STATUSES.iter().enumerate() {
        // One organisation in `from` for the refused transitions (they change nothing).
        let org = app
            .create_org(&admin, &format!("From{}", letters[i]), "pharma")
            .await;
        let id = id_of(&org);
        app.set_status(&admin, &id, from).await;
        for to in STATUSES {
            if allowed(from).contains(&to) {
                continue;
            }
            let res = app
                .post(
                    &format!("/api/v1/organisations/{id}/membership-changes"),
                    &admin,
                    &json!({"to_status": to, "effective_date": "2024-02-01", "reason": "try"}),
                )
                .await;
            assert_field_error(res, "to_status", "invalid_transition").await;
        }
        assert_eq!(
            app.get_ok(&format!("/api/v1/organisations/{id}"), &admin)
                .await["membership_status"],
            *from
        );
        // And a fresh organisation for each allowed one.
        for (j, to) in allowed(from).iter().enumerate() {
            let org = app
                .create_org(
                    &admin,
                    &format!("Via{}{}", letters[i], letters[j]),
                    "pharma",
                )
                .await;
            let id = id_of(&org);
            app.set_status(&admin, &id, from).await;
            let change = app.change_status(&admin, &id, to, "2024-02-01").await;
            assert_eq!(change["from_status"], *from);
            assert_eq!(change["to_status"], *to);
            let now = app
                .get_ok(&format!("/api/v1/organisations/{id}"), &admin)
                .await;
            assert_eq!(now["membership_status"], *to, "{from} -> {to}");
        }
    }
}

#[tokio::test]
async fn membership_change_dates_are_not_in_the_future_nor_before_the_previous_change() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Datedco", "pharma").await;
    let id = id_of(&org);
    let path = format!("/api/v1/organisations/{id}/membership-changes");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(2)).to_string();
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "applicant", "effective_date": tomorrow, "reason": "early"}),
        )
        .await;
    assert_field_error(res, "effective_date", "in_future").await;

    app.change_status(&admin, &id, "applicant", "2024-03-01")
        .await;
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "partner", "effective_date": "2024-02-29", "reason": "backdated"}),
        )
        .await;
    assert_field_error(res, "effective_date", "before_previous_change").await;
    // The same day as the previous change is fine, and so is today.
    app.change_status(&admin, &id, "partner", "2024-03-01")
        .await;
    let today = chrono::Utc::now().date_naive().to_string();
    app.change_status(&admin, &id, "observer", &today).await;

    // A reason is required; unknown fields and statuses are rejected.
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "partner", "effective_date": today, "reason": "  "}),
        )
        .await;
    assert_field_error(res, "reason", "required").await;
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "member", "effective_date": today, "reason": "x"}),
        )
        .await;
    assert_field_error(res, "to_status", "invalid_value").await;
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "partner", "effective_date": today, "reason": "x", "from_status": "observer"}),
        )
        .await;
    assert_field_error(res, "from_status", "unknown_field").await;
}

#[tokio::test]
async fn membership_history_lists_every_change_oldest_first() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await["user"]["id"].clone();
    let org = app.create_org(&admin, "Historyco", "pharma").await;
    let id = id_of(&org);
    let path = format!("/api/v1/organisations/{id}/membership-changes");
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "applicant", "effective_date": "2020-11-01", "reason": "Applied in writing"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["location"].to_str().unwrap(), path);
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "partner", "effective_date": "2021-01-01", "reason": "Admitted by the board", "decision_reference": "BOARD-2020-14"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.change_status(&admin, &id, "observer", "2022-06-01")
        .await;

    let items = app.list_items(&path, &admin).await;
    assert_eq!(items.len(), 3);
    let steps: Vec<(String, String)> = items
        .iter()
        .map(|c| {
            (
                c["from_status"].as_str().unwrap().to_owned(),
                c["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("none".to_owned(), "applicant".to_owned()),
            ("applicant".to_owned(), "partner".to_owned()),
            ("partner".to_owned(), "observer".to_owned())
        ]
    );
    assert_eq!(items[0]["effective_date"], "2020-11-01");
    assert_eq!(items[0]["reason"], "Applied in writing");
    assert_eq!(items[0]["decision_reference"], Value::Null);
    assert_eq!(items[1]["decision_reference"], "BOARD-2020-14");
    assert_eq!(items[1]["changed_by"], admin_id);
    assert_eq!(items[1]["organisation_id"], id.as_str());
    assert!(items[1]["recorded_at"].is_string());

    // Paged too.
    let first = app.get_ok(&format!("{path}?limit=2"), &admin).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let c = first["next_cursor"].as_str().unwrap();
    let rest = app
        .list_items(&format!("{path}?limit=2&cursor={c}"), &admin)
        .await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["to_status"], "observer");
}

#[tokio::test]
async fn membership_history_is_for_admins_and_the_organisations_own_representatives() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let own = app.rep(&admin, "Selfco", "partner").await;
    let other = app.rep(&admin, "Otherco", "partner").await;
    let path = format!(
        "/api/v1/organisations/{}/membership-changes",
        own.organisation_id
    );
    let items = app.list_items(&path, &own.token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["to_status"], "partner");
    // The other partner sees the organisation but not its history.
    assert_eq!(
        app.get(
            &format!("/api/v1/organisations/{}", own.organisation_id),
            &other.token
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_problem(app.get(&path, &other.token).await, 404, "not-found").await;
    // Representatives never record changes, not even for their own organisation.
    let res = app
        .post(
            &path,
            &own.token,
            &json!({"to_status": "observer", "effective_date": "2024-02-01", "reason": "x"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(app.list_items(&path, &admin).await.len(), 1);
}

#[tokio::test]
async fn joined_on_and_left_on_follow_the_history() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Datesco", "pharma").await;
    let id = id_of(&org);
    let path = format!("/api/v1/organisations/{id}");
    let dates = |o: &Value| (o["joined_on"].clone(), o["left_on"].clone());

    app.change_status(&admin, &id, "applicant", "2020-10-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(
        dates(&o),
        (Value::Null, Value::Null),
        "applying is not joining"
    );

    app.change_status(&admin, &id, "partner", "2021-01-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(dates(&o), (json!("2021-01-01"), Value::Null));

    app.change_status(&admin, &id, "observer", "2021-06-01")
        .await;
    app.change_status(&admin, &id, "suspended", "2022-01-01")
        .await;
    app.change_status(&admin, &id, "partner", "2022-03-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(
        dates(&o),
        (json!("2021-01-01"), Value::Null),
        "moving between member statuses or back from suspension keeps joined_on"
    );

    app.change_status(&admin, &id, "withdrawn", "2023-01-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(dates(&o), (json!("2021-01-01"), json!("2023-01-01")));

    app.change_status(&admin, &id, "applicant", "2024-01-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(dates(&o), (json!("2021-01-01"), json!("2023-01-01")));

    app.change_status(&admin, &id, "observer", "2024-06-01")
        .await;
    let o = app.get_ok(&path, &admin).await;
    assert_eq!(
        dates(&o),
        (json!("2024-06-01"), Value::Null),
        "rejoining sets joined_on anew and clears left_on"
    );

    // Joining straight from none sets joined_on too.
    let direct = app.create_org(&admin, "Directco", "pharma").await;
    app.change_status(&admin, &id_of(&direct), "observer", "2024-02-02")
        .await;
    let o = app
        .get_ok(&format!("/api/v1/organisations/{}", id_of(&direct)), &admin)
        .await;
    assert_eq!(dates(&o), (json!("2024-02-02"), Value::Null));
}

#[tokio::test]
async fn a_membership_change_bumps_the_organisations_version_and_is_audited() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await["user"]["id"].clone();
    let org = app.create_org(&admin, "Versionco", "pharma").await;
    let id = id_of(&org);
    let path = format!("/api/v1/organisations/{id}");
    let before = etag(&app.get(&path, &admin).await);
    assert_eq!(before, "\"1\"");

    let res = app
        .post(
            &format!("{path}/membership-changes"),
            &admin,
            &json!({"to_status": "partner", "effective_date": "2024-05-01", "reason": "Admitted", "decision_reference": "B-7"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let after = etag(&res);
    assert_eq!(after, "\"2\"");
    let change: Value = res.json().await.unwrap();
    let res = app.get(&path, &admin).await;
    assert_eq!(etag(&res), after);
    let org: Value = res.json().await.unwrap();
    assert_eq!(org["version"], 2);
    assert_eq!(org["membership_status"], "partner");

    // An edit made with the ETag from before the change is refused.
    let res = app
        .patch(&path, &admin, Some(&before), &json!({"short_name": "V"}))
        .await;
    assert_problem(res, 412, "precondition-failed").await;

    let events = app
        .audit_events(&admin, &format!("record_id={id}&action=membership.changed"))
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["record_type"], "organisation");
    assert_eq!(e["record_id"], id.as_str());
    assert_eq!(e["actor_kind"], "user");
    assert_eq!(e["actor_id"], admin_id);
    assert_eq!(
        e["changes"]["membership_status"],
        json!({"from": "none", "to": "partner"})
    );
    assert_eq!(
        e["changes"]["joined_on"],
        json!({"from": null, "to": "2024-05-01"})
    );
    assert_eq!(e["changes"]["membership_change_id"], change["id"]);
    assert_eq!(e["changes"]["reason"], "Admitted");
}

#[tokio::test]
async fn membership_change_on_an_unknown_organisation_is_404() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let path = format!(
        "/api/v1/organisations/{}/membership-changes",
        uuid::Uuid::now_v7()
    );
    let res = app
        .post(
            &path,
            &admin,
            &json!({"to_status": "partner", "effective_date": "2024-01-01", "reason": "x"}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    assert_problem(app.get(&path, &admin).await, 404, "not-found").await;
}
