//! Series through HTTP: a weekly series at 14:00 Oslo across the March change, one occurrence
//! moved and one cancelled alone, the list over the range showing both, and a bad rule refused.

use serde_json::json;

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
