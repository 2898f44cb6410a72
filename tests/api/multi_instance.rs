//! Two instances on one database stay correct: the invariants live in the database.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn concurrent_membership_changes_on_two_instances_apply_once() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let admin = a.admin_token().await;
    let org = a.create_org(&admin, "Concurrent Pharma", "pharma").await;
    let id = org["id"].as_str().unwrap();
    let path = format!("/api/v1/organisations/{id}/membership-changes");
    let body = json!({"to_status": "partner", "effective_date": "2024-01-01", "reason": "race"});
    let mut calls = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 { &a } else { &b };
        calls.push(app.post(&path, &admin, &body));
    }
    let statuses: Vec<u16> = join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 409, 422].contains(s)),
        "{statuses:?}"
    );
    let history: Value = a.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refresh_token_rotates_once_across_instances() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let pair = a.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = json!({"refresh_token": pair["refresh_token"]});
    let calls = (0..6).map(|i| {
        if i % 2 == 0 {
            a.post_anon("/api/v1/auth/refresh", &body)
        } else {
            b.post_anon("/api/v1/auth/refresh", &body)
        }
    });
    let statuses: Vec<u16> = join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_session_ended_on_one_instance_ends_on_the_other() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let pair = a.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(b.get("/api/v1/me", token).await.status(), 200);
    let res = a
        .post_anon(
            "/api/v1/auth/logout",
            &json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_problem(b.get("/api/v1/me", token).await, 401, "unauthenticated").await;
}
