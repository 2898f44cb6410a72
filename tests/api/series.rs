//! Series through HTTP: a weekly series at 14:00 Oslo across the March change, one occurrence
//! moved and one cancelled alone, the list over the range showing both, and a bad rule refused.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_series_lists_its_occurrences_with_one_moved_and_one_cancelled() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = id_of(
        &expect(
            app.post(
                "/api/v1/bodies",
                &admin,
                &json!({"kind": "working_group", "name": "WG1"}),
            )
            .await,
            201,
        )
        .await,
    );
    let bad = app
        .post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": wg, "title": "Weekly", "start": "2030-03-19T14:00:00",
                    "end": "2030-03-19T15:00:00", "rrule": "FREQ=HOURLY"}),
        )
        .await;
    assert_field_error(bad, "rrule", "invalid_rrule").await;
    let series = expect(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": wg, "title": "Weekly", "start": "2030-03-19T14:00:00",
                    "end": "2030-03-19T15:00:00", "rrule": "FREQ=WEEKLY;BYDAY=TU"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&series);
    assert_eq!(series["rrule"], "FREQ=WEEKLY;BYDAY=TU");
    // 26 March (after the change to summer time on 31 March? no: 2030-03-31) stays at 14:00.
    let moved = format!("/api/v1/meetings/{id}/occurrences/2030-03-26T13:00:00Z");
    let etag = etag(&app.get(&format!("/api/v1/meetings/{id}"), &admin).await);
    let changed = expect(
        app.patch(
            &moved,
            &admin,
            Some(&etag),
            &json!({"start": "2030-03-27T10:00:00"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["occurrence_of"], "2030-03-26T13:00:00Z");
    assert_eq!(changed["starts_at"], "2030-03-27T09:00:00Z");
    assert_eq!(changed["series_id"], id.as_str());
    let cancelled = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/occurrences/2030-04-02T12:00:00Z/cancel"),
            &admin,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    // Not an occurrence: 404.
    let missing = app
        .post(
            &format!("/api/v1/meetings/{id}/occurrences/2030-04-03T12:00:00Z"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(missing.status(), 404);
    let items = app
        .list_items(
            "/api/v1/meetings?from=2030-03-01T00:00:00Z&to=2030-04-15T00:00:00Z",
            &admin,
        )
        .await;
    let seen: Vec<(String, String, String)> = items
        .iter()
        .map(|m| {
            (
                m["starts_at"].as_str().unwrap().to_owned(),
                m["local_start"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        seen,
        vec![
            s("2030-03-19T13:00:00Z", "2030-03-19T14:00:00", "scheduled"),
            s("2030-03-27T09:00:00Z", "2030-03-27T10:00:00", "scheduled"),
            s("2030-04-02T12:00:00Z", "2030-04-02T14:00:00", "cancelled"),
            s("2030-04-09T12:00:00Z", "2030-04-09T14:00:00", "scheduled"),
        ]
    );
    // Paged one by one, the same stream.
    let mut cursor: Option<String> = None;
    let mut starts = Vec::new();
    loop {
        let mut path =
            "/api/v1/meetings?from=2030-03-01T00:00:00Z&to=2030-04-15T00:00:00Z&limit=1".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_ok(&path, &admin).await;
        for m in page["items"].as_array().unwrap() {
            starts.push(m["starts_at"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(starts, seen.iter().map(|x| x.0.clone()).collect::<Vec<_>>());
    let occ = app
        .list_items(
            &format!("/api/v1/meetings/{id}/occurrences?to=2030-04-15T00:00:00Z"),
            &admin,
        )
        .await;
    assert_eq!(occ.len(), 4);
}

fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A weekly series at 10:00 local whose first occurrence was `weeks` weeks ago.
async fn series_under_way(app: &TestApp, admin: &str, wg: &str, weeks: i64) -> (Value, String) {
    let first = chrono::Utc::now().date_naive() - chrono::TimeDelta::weeks(weeks);
    let series = expect(
        app.post(
            "/api/v1/meetings",
            admin,
            &json!({"body_id": wg, "title": "Old title", "start": format!("{first}T10:00:00"),
                    "end": format!("{first}T11:00:00"), "rrule": "FREQ=WEEKLY"}),
        )
        .await,
        201,
    )
    .await;
    (series, first.to_string())
}

fn range(first: &str, days_ahead: i64) -> String {
    let to = chrono::Utc::now().date_naive() + chrono::TimeDelta::days(days_ahead);
    let from =
        chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").unwrap() - chrono::TimeDelta::days(1);
    format!("from={from}T00:00:00Z&to={to}T00:00:00Z")
}

#[tokio::test]
async fn editing_a_series_under_way_splits_it_and_changes_only_the_future() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    let (series, first) = series_under_way(&app, &admin, &wg, 8).await;
    let id = id_of(&series);
    let now = now_utc();
    // The next occurrence after now: where the split falls.
    let next = app
        .list_items(
            &format!("/api/v1/meetings/{id}/occurrences?from={now}&limit=3"),
            &admin,
        )
        .await
        .into_iter()
        .find(|m| m["starts_at"].as_str().unwrap() > now.as_str())
        .unwrap();
    let day = &next["local_start"].as_str().unwrap()[..10];
    // The occurrence a week later was prepared alone (an agenda): it no longer fits the edited
    // series, and is kept, cancelled, with its agenda.
    let week_later = chrono::DateTime::parse_from_rfc3339(next["starts_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::TimeDelta::weeks(1);
    let week_later = week_later.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let prepared = id_of(
        &expect(
            app.post(
                &format!("/api/v1/meetings/{id}/occurrences/{week_later}"),
                &admin,
                &json!({}),
            )
            .await,
            201,
        )
        .await,
    );
    expect(
        app.post(
            &format!("/api/v1/meetings/{prepared}/agenda-items"),
            &admin,
            &json!({"title": "Cohort status"}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/meetings/{id}");
    let etag = etag(&app.get(&path, &admin).await);
    let res = app
        .patch(
            &path,
            &admin,
            Some(&etag),
            &json!({"title": "New title", "start": format!("{day}T11:00:00"),
                    "end": format!("{day}T12:00:00")}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let kept = app
        .get_ok(&format!("/api/v1/meetings/{prepared}"), &admin)
        .await;
    assert_eq!(kept["status"], "cancelled", "{kept}");
    let agenda = app
        .list_items(&format!("/api/v1/meetings/{prepared}/agenda-items"), &admin)
        .await;
    assert_eq!(agenda.len(), 1, "{agenda:?}");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let new = res.json::<Value>().await.unwrap();
    let new_id = id_of(&new);
    assert_ne!(new_id, id);
    assert_eq!(location, format!("/api/v1/meetings/{new_id}"));
    assert_eq!(new["title"], "New title");
    assert_eq!(new["local_start"], format!("{day}T11:00:00"));
    assert!(new["rrule"].as_str().unwrap().starts_with("FREQ=WEEKLY"));
    // The old series ends before the split.
    let old = app.get_ok(&path, &admin).await;
    assert!(old["rrule"].as_str().unwrap().contains("UNTIL="), "{old}");
    assert_eq!(old["title"], "Old title");
    let items = app
        .list_items(
            &format!("/api/v1/meetings?{}&limit=200", range(&first, 28)),
            &admin,
        )
        .await;
    let (past, future): (Vec<&Value>, Vec<&Value>) = items
        .iter()
        .partition(|m| m["starts_at"].as_str().unwrap() < now.as_str());
    assert!(past.len() >= 8, "{past:?}");
    assert_eq!(past[0]["local_start"], format!("{first}T10:00:00"));
    for m in &past {
        assert_eq!(m["title"], "Old title");
        assert_eq!(m["series_id"], id.as_str());
        assert!(m["local_start"].as_str().unwrap().ends_with("T10:00:00"));
    }
    let future: Vec<&Value> = future
        .into_iter()
        .filter(|m| m["id"] != prepared.as_str())
        .collect();
    assert!(future.len() >= 3, "{future:?}");
    assert_eq!(future[0]["local_start"], format!("{day}T11:00:00"));
    for m in &future {
        assert_eq!(m["title"], "New title");
        assert_eq!(m["series_id"], new_id.as_str());
        assert!(m["local_start"].as_str().unwrap().ends_with("T11:00:00"));
    }
}

#[tokio::test]
async fn cancelling_a_series_under_way_ends_it_from_now() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    let (series, first) = series_under_way(&app, &admin, &wg, 3).await;
    let id = id_of(&series);
    let before = app
        .list_items(&format!("/api/v1/meetings?{}", range(&first, 60)), &admin)
        .await;
    assert!(before.len() >= 11, "{before:?}");
    let ended = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/cancel"),
            &admin,
            &json!({"reason": "The group is done"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ended["status"], "scheduled");
    assert!(
        ended["rrule"].as_str().unwrap().contains("UNTIL="),
        "{ended}"
    );
    let now = now_utc();
    let after = app
        .list_items(&format!("/api/v1/meetings?{}", range(&first, 60)), &admin)
        .await;
    let kept: Vec<&Value> = before
        .iter()
        .filter(|m| m["starts_at"].as_str().unwrap() < now.as_str())
        .collect();
    assert!(kept.len() >= 3);
    let key = |m: &Value| {
        (
            m["starts_at"].clone(),
            m["title"].clone(),
            m["status"].clone(),
        )
    };
    assert_eq!(
        after.iter().map(key).collect::<Vec<_>>(),
        kept.iter().map(|m| key(m)).collect::<Vec<_>>()
    );
    for m in &after {
        assert_eq!(m["status"], "scheduled");
    }
}

#[tokio::test]
async fn a_weekly_series_keeps_its_local_time_across_the_october_change() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    // Summer time ends on Sunday 27 October 2030: Oslo goes from UTC+2 to UTC+1.
    let series = expect(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": wg, "title": "Weekly", "start": "2030-10-15T14:00:00",
                    "end": "2030-10-15T15:00:00", "time_zone": "Europe/Oslo",
                    "rrule": "FREQ=WEEKLY;BYDAY=TU"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&series);
    let items = app
        .list_items(
            &format!(
                "/api/v1/meetings/{id}/occurrences?from=2030-10-01T00:00:00Z&to=2030-11-10T00:00:00Z"
            ),
            &admin,
        )
        .await;
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|m| {
            (
                m["starts_at"].as_str().unwrap(),
                m["local_start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("2030-10-15T12:00:00Z", "2030-10-15T14:00:00"),
            ("2030-10-22T12:00:00Z", "2030-10-22T14:00:00"),
            ("2030-10-29T13:00:00Z", "2030-10-29T14:00:00"),
            ("2030-11-05T13:00:00Z", "2030-11-05T14:00:00"),
        ]
    );
}

#[tokio::test]
async fn free_slots_leave_out_an_accepted_meeting_and_hold_local_time_on_a_dst_day() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    let a = app.member(&admin, "Alpha Pharma", "partner").await;
    let b = app.member(&admin, "Beta Pharma", "partner").await;
    // Tuesday 12 March 2030, 10:00-11:00 Oslo: A accepts.
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": wg, "title": "Busy", "start": "2030-03-12T10:00:00",
                    "end": "2030-03-12T11:00:00"}),
        )
        .await,
        201,
    )
    .await;
    let mid = id_of(&meeting);
    expect(
        app.post(
            &format!("/api/v1/meetings/{mid}/invitees"),
            &admin,
            &json!({"person_id": a.person_id}),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/meetings/{mid}/rsvp"),
            &a.token,
            None,
            Some(&json!({"response": "accepted"})),
        )
        .await,
        200,
    )
    .await;
    let people = format!("person_id={}&person_id={}", a.person_id, b.person_id);
    let slots = app
        .get_ok(
            &format!(
                "/api/v1/meetings/free-slots?{people}&duration_minutes=60&from=2030-03-12&to=2030-03-12"
            ),
            &admin,
        )
        .await;
    let items = slots["items"].as_array().unwrap();
    let all_free: Vec<&str> = items
        .iter()
        .filter(|s| s["free"].as_array().unwrap().len() == 2)
        .map(|s| s["local_start"].as_str().unwrap())
        .collect();
    assert!(all_free.contains(&"2030-03-12T09:00:00"), "{slots}");
    assert!(all_free.contains(&"2030-03-12T11:00:00"), "{slots}");
    for clash in ["09:30", "10:00", "10:30"] {
        assert!(
            !all_free.contains(&format!("2030-03-12T{clash}:00").as_str()),
            "{clash} is busy for A: {slots}"
        );
    }
    // With one free enough, the 10:00 slot shows A busy.
    let some = app
        .get_ok(
            &format!(
                "/api/v1/meetings/free-slots?{people}&duration_minutes=60&from=2030-03-12&to=2030-03-12&min_free=1"
            ),
            &admin,
        )
        .await;
    let ten = some["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["local_start"] == "2030-03-12T10:00:00")
        .unwrap_or_else(|| panic!("no 10:00 slot: {some}"));
    assert_eq!(ten["busy"], json!([a.person_id]));
    assert_eq!(ten["starts_at"], "2030-03-12T09:00:00Z");
    // Sunday 31 March 2030 (clocks go forward): 09:00 local is 07:00 UTC; the day before 08:00.
    let dst = app
        .get_ok(
            &format!(
                "/api/v1/meetings/free-slots?{people}&duration_minutes=60&from=2030-03-30&to=2030-03-31&weekends=true"
            ),
            &admin,
        )
        .await;
    let at = |local: &str| {
        dst["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["local_start"] == local)
            .unwrap_or_else(|| panic!("no slot at {local}: {dst}"))["starts_at"]
            .clone()
    };
    assert_eq!(at("2030-03-31T09:00:00"), "2030-03-31T07:00:00Z");
    assert_eq!(at("2030-03-30T09:00:00"), "2030-03-30T08:00:00Z");
    // Bad input: 422.
    let none = app
        .get(
            "/api/v1/meetings/free-slots?duration_minutes=60&from=2030-03-12&to=2030-03-12",
            &admin,
        )
        .await;
    assert_field_error(none, "person_id", "out_of_range").await;
    let short = app
        .get(
            &format!(
                "/api/v1/meetings/free-slots?{people}&duration_minutes=5&from=2030-03-12&to=2030-03-12"
            ),
            &admin,
        )
        .await;
    assert_field_error(short, "duration_minutes", "out_of_range").await;
}

#[tokio::test]
async fn a_chair_of_one_group_may_not_change_another_groups_series() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg1 = working_group(&app, &admin, "WG1").await;
    let wg2 = working_group(&app, &admin, "WG2").await;
    let chair = app.member(&admin, "Chair Hospital", "partner").await;
    app.seat_member(&admin, &wg1, &chair, "chair").await;
    let create = |wg: &str| {
        json!({"body_id": wg, "title": "Weekly", "start": "2030-03-19T14:00:00",
               "end": "2030-03-19T15:00:00", "rrule": "FREQ=WEEKLY;BYDAY=TU"})
    };
    let own = id_of(
        &expect(
            app.post("/api/v1/meetings", &chair.token, &create(&wg1))
                .await,
            201,
        )
        .await,
    );
    let other = id_of(
        &expect(
            app.post("/api/v1/meetings", &admin, &create(&wg2)).await,
            201,
        )
        .await,
    );
    // Invited to WG2's series, the chair sees it but may not change it.
    expect(
        app.post(
            &format!("/api/v1/meetings/{other}/invitees"),
            &admin,
            &json!({"person_id": chair.person_id}),
        )
        .await,
        201,
    )
    .await;
    let occ = |id: &str| format!("/api/v1/meetings/{id}/occurrences/2030-03-26T13:00:00Z");
    let etag = etag(
        &app.get(&format!("/api/v1/meetings/{other}"), &chair.token)
            .await,
    );
    assert_problem(
        app.patch(
            &occ(&other),
            &chair.token,
            Some(&etag),
            &json!({"title": "Mine now"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(&format!("{}/cancel", occ(&other)), &chair.token, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // The chair's own group's series: both allowed.
    let etag = etag_of(&app, &own, &chair.token).await;
    let moved = expect(
        app.patch(
            &occ(&own),
            &chair.token,
            Some(&etag),
            &json!({"title": "Moved"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["title"], "Moved");
    expect(
        app.post(
            &format!("/api/v1/meetings/{own}/occurrences/2030-04-02T12:00:00Z/cancel"),
            &chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
}

async fn etag_of(app: &TestApp, id: &str, token: &str) -> String {
    etag(&app.get(&format!("/api/v1/meetings/{id}"), token).await)
}

#[tokio::test]
async fn the_series_calendar_carries_the_rule_the_zone_and_a_moved_occurrence() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    let series = expect(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": wg, "title": "Weekly", "start": "2030-03-19T14:00:00",
                    "end": "2030-03-19T15:00:00", "rrule": "FREQ=WEEKLY;BYDAY=TU"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&series);
    let etag = etag_of(&app, &id, &admin).await;
    expect(
        app.patch(
            &format!("/api/v1/meetings/{id}/occurrences/2030-03-26T13:00:00Z"),
            &admin,
            Some(&etag),
            &json!({"start": "2030-03-27T10:00:00", "end": "2030-03-27T11:00:00"}),
        )
        .await,
        200,
    )
    .await;
    let res = app.get(&format!("/api/v1/meetings/{id}.ics"), &admin).await;
    assert_eq!(res.status(), 200);
    let ics = res.text().await.unwrap();
    let unfolded = icalendar::parser::unfold(&ics);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar object");
    let prop =
        |c: &icalendar::parser::Component<'_>, name: &str| -> Option<(String, Vec<String>)> {
            c.properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| {
                    (
                        p.val.as_str().to_owned(),
                        p.params
                            .iter()
                            .map(|x| {
                                format!(
                                    "{}={}",
                                    x.key.as_str(),
                                    x.val.as_ref().map(|v| v.as_str()).unwrap_or_default()
                                )
                            })
                            .collect(),
                    )
                })
        };
    let tz = cal
        .components
        .iter()
        .find(|c| c.name.as_str() == "VTIMEZONE")
        .expect("a VTIMEZONE");
    assert_eq!(prop(tz, "TZID").unwrap().0, "Europe/Oslo");
    let events: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    assert_eq!(events.len(), 2, "{ics}");
    let master = events
        .iter()
        .find(|e| prop(e, "RRULE").is_some())
        .expect("the master");
    assert_eq!(prop(master, "RRULE").unwrap().0, "FREQ=WEEKLY;BYDAY=TU");
    let (start, params) = prop(master, "DTSTART").unwrap();
    assert_eq!(start, "20300319T140000");
    assert_eq!(params, vec!["TZID=Europe/Oslo".to_owned()]);
    assert!(prop(master, "RECURRENCE-ID").is_none());
    let moved = events
        .iter()
        .find(|e| prop(e, "RECURRENCE-ID").is_some())
        .expect("the moved occurrence");
    assert_eq!(prop(moved, "RECURRENCE-ID").unwrap().0, "20300326T130000Z");
    assert_eq!(prop(moved, "DTSTART").unwrap().0, "20300327T090000Z");
    assert_eq!(
        prop(moved, "UID").unwrap().0,
        prop(master, "UID").unwrap().0
    );
    assert!(prop(moved, "RRULE").is_none());
}

/// Paging through a range holding two series (one with three occurrences changed alone) and a
/// single meeting, a few at a time with the cursor, gives exactly the one long page: each series
/// is expanded only as far as a page needs, and nothing is skipped or repeated at the seams.
#[tokio::test]
async fn small_pages_through_expanded_series_match_one_long_page() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "WG1").await;
    let create = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move { expect(app.post("/api/v1/meetings", &admin, &body).await, 201).await }
    };
    let weekly = id_of(
        &create(
            json!({"body_id": wg, "title": "Weekly", "start": "2031-01-07T14:00:00",
                       "end": "2031-01-07T15:00:00", "rrule": "FREQ=WEEKLY;BYDAY=TU"}),
        )
        .await,
    );
    create(
        json!({"body_id": wg, "title": "Daily", "start": "2031-01-08T09:00:00",
                  "end": "2031-01-08T09:15:00", "rrule": "FREQ=DAILY;COUNT=20"}),
    )
    .await;
    create(
        json!({"body_id": wg, "title": "Once", "start": "2031-01-20T12:00:00",
                  "end": "2031-01-20T13:00:00"}),
    )
    .await;
    // Three occurrences of the weekly series changed alone: moved early, moved late, cancelled.
    for (original, change) in [
        ("2031-01-14T13:00:00Z", Some("2031-01-13T08:00:00")),
        ("2031-01-21T13:00:00Z", Some("2031-02-20T16:00:00")),
        ("2031-01-28T13:00:00Z", None),
    ] {
        let path = format!("/api/v1/meetings/{weekly}/occurrences/{original}");
        let res = match change {
            Some(start) => {
                let etag = etag(&app.get(&format!("/api/v1/meetings/{weekly}"), &admin).await);
                app.patch(&path, &admin, Some(&etag), &json!({"start": start}))
                    .await
            }
            None => {
                app.post(&format!("{path}/cancel"), &admin, &json!({}))
                    .await
            }
        };
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let range = "from=2031-01-01T00:00:00Z&to=2031-03-01T00:00:00Z";
    let key = |m: &Value| {
        format!(
            "{} {} {}",
            m["starts_at"].as_str().unwrap(),
            m["title"].as_str().unwrap(),
            m["status"].as_str().unwrap()
        )
    };
    let all: Vec<String> = app
        .list_items(&format!("/api/v1/meetings?{range}&limit=200"), &admin)
        .await
        .iter()
        .map(key)
        .collect();
    // 8 weekly starts in range (one cancelled row kept, two moved rows), 20 daily, 1 single.
    assert_eq!(all.len(), 29, "{all:#?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "in time order");
    for size in [1, 3, 7] {
        let mut paged = Vec::new();
        let mut url = format!("/api/v1/meetings?{range}&limit={size}");
        loop {
            let page = app.get_ok(&url, &admin).await;
            paged.extend(page["items"].as_array().unwrap().iter().map(key));
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("/api/v1/meetings?{range}&limit={size}&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(paged, all, "pages of {size}");
    }
}
