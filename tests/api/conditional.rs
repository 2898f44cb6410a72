//! Conditional reads: every successful GET carries an ETag, and `If-None-Match` naming the current
//! one answers 304 with no body.

use reqwest::Response;
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    pub async fn get_if_none_match(&self, path: &str, token: &str, tags: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .header("if-none-match", tags)
            .send()
            .await
            .unwrap()
    }
}

async fn assert_not_modified(res: Response, tag: &str) {
    assert_eq!(res.status(), 304);
    assert_eq!(etag(&res), tag);
    assert!(res.headers().get("content-type").is_none());
    assert_eq!(res.bytes().await.unwrap().len(), 0, "a 304 has no body");
}

#[tokio::test]
async fn a_list_page_is_tagged_by_its_content_and_answers_304_while_unchanged() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_org(&admin, "Alpha Pharma", "pharma").await;
    let list = "/api/v1/organisations";

    let first = app.get(list, &admin).await;
    assert_eq!(first.status(), 200);
    let tag = etag(&first);
    assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "{tag}");
    // Stable while nothing changes (and another session of the same caller sees the same).
    let again = app.get(list, &app.admin_token().await).await;
    assert_eq!(etag(&again), tag);

    assert_not_modified(app.get_if_none_match(list, &admin, &tag).await, &tag).await;
    // Any of several tags, and the strong form of the weak tag, match (weak comparison).
    let listed = format!("\"other\", {tag}");
    assert_not_modified(app.get_if_none_match(list, &admin, &listed).await, &tag).await;
    let strong = tag.trim_start_matches("W/");
    assert_not_modified(app.get_if_none_match(list, &admin, strong).await, &tag).await;
    let res = app.get_if_none_match(list, &admin, "\"stale\"").await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), tag);

    // A change: the old tag no longer matches, and the new page has a new tag.
    app.create_org(&admin, "Beta Biotech", "biotech").await;
    let res = app.get_if_none_match(list, &admin, &tag).await;
    assert_eq!(res.status(), 200);
    let new_tag = etag(&res);
    assert_ne!(new_tag, tag);
    let items = res.json::<serde_json::Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(items, 2);
    assert_not_modified(
        app.get_if_none_match(list, &admin, &new_tag).await,
        &new_tag,
    )
    .await;

    // Each page of a list, and each filter, has its own tag.
    let page = app.get(&format!("{list}?limit=1"), &admin).await;
    assert_ne!(etag(&page), new_tag);
    let filtered = app.get(&format!("{list}?q=alpha"), &admin).await;
    assert_ne!(etag(&filtered), new_tag);
}

#[tokio::test]
async fn a_list_tag_differs_between_callers_shown_different_rows() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Own Pharma", "none").await;
    app.create_org(&admin, "Someone Else", "biotech").await;
    let list = "/api/v1/organisations";

    let everything = app.get(list, &admin).await;
    let own = app.get(list, &rep.token).await;
    let (admin_tag, rep_tag) = (etag(&everything), etag(&own));
    assert_ne!(admin_tag, rep_tag);
    let everything: serde_json::Value = everything.json().await.unwrap();
    let own: serde_json::Value = own.json().await.unwrap();
    assert_eq!(everything["items"].as_array().unwrap().len(), 2);
    assert_eq!(own["items"].as_array().unwrap().len(), 1);

    // The admin's tag does not make the representative's (other) page "unchanged".
    let res = app.get_if_none_match(list, &rep.token, &admin_tag).await;
    assert_eq!(res.status(), 200);
    assert_not_modified(
        app.get_if_none_match(list, &rep.token, &rep_tag).await,
        &rep_tag,
    )
    .await;

    // A change the representative cannot see leaves their tag as it was; the admin's changes.
    app.create_org(&admin, "Third Party", "biotech").await;
    assert_not_modified(
        app.get_if_none_match(list, &rep.token, &rep_tag).await,
        &rep_tag,
    )
    .await;
    let res = app.get_if_none_match(list, &admin, &admin_tag).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_record_answers_304_for_its_current_version_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Versioned Pharma", "pharma").await;
    let path = format!("/api/v1/organisations/{}", org["id"].as_str().unwrap());

    let res = app.get(&path, &admin).await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), "\"1\"");
    assert_not_modified(app.get_if_none_match(&path, &admin, "\"1\"").await, "\"1\"").await;
    assert_not_modified(
        app.get_if_none_match(&path, &admin, "W/\"1\"").await,
        "\"1\"",
    )
    .await;
    assert_not_modified(app.get_if_none_match(&path, &admin, "*").await, "\"1\"").await;

    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"website": "https://versioned.test"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app.get_if_none_match(&path, &admin, "\"1\"").await;
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), "\"2\"");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["website"], "https://versioned.test");
    assert_not_modified(app.get_if_none_match(&path, &admin, "\"2\"").await, "\"2\"").await;

    // What is not found stays a 404, whatever the client holds.
    let gone = format!("/api/v1/organisations/{}", uuid::Uuid::now_v7());
    let res = app.get_if_none_match(&gone, &admin, "*").await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn other_reads_are_tagged_too_and_writes_are_not_conditional_on_if_none_match() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // A record without a version (the caller's own account) is tagged by its content.
    let me = app.get("/api/v1/me", &admin).await;
    let tag = etag(&me);
    assert!(tag.starts_with("W/"), "{tag}");
    assert_not_modified(
        app.get_if_none_match("/api/v1/me", &admin, &tag).await,
        &tag,
    )
    .await;
    // A CSV export is tagged like the JSON page, with a tag of its own.
    let csv = app.get_csv("/api/v1/organisations", &admin).await;
    assert_eq!(csv.status(), 200);
    let json_page = app.get("/api/v1/organisations", &admin).await;
    assert_ne!(etag(&csv), etag(&json_page));
    // If-None-Match means nothing to a POST.
    let res = app
        .client
        .post(app.url("/api/v1/organisations"))
        .bearer_auth(&admin)
        .header("if-none-match", "*")
        .json(&json!({"name": "Posted Pharma", "kind": "pharma", "sector": "private"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}
