//! `connect seed demo` loads the consortium's partners with their membership history.

use serde_json::Value;

use crate::helpers::*;

fn mailer() -> std::sync::Arc<connect::notifications::Mailer> {
    std::sync::Arc::new(
        connect::notifications::Mailer::new("http://127.0.0.1", "CONNECT <no-reply@localhost>")
            .unwrap(),
    )
}

#[tokio::test]
async fn demo_data_loads_once_with_history() {
    let app = spawn_app().await;
    let db = {
        let url = app.database_url.clone();
        tokio::task::spawn_blocking(move || {
            let env = [
                ("CONNECT_DATABASE_URL".to_string(), url),
                (
                    "CONNECT_JWT_SECRET".to_string(),
                    "test-secret-test-secret-test-secret-0123".to_string(),
                ),
            ]
            .into_iter()
            .collect();
            let settings = connect::config::Settings::from_sources(&env).unwrap();
            connect::startup::connect_database(&settings).unwrap()
        })
        .await
        .unwrap()
    };
    let added = connect::seed::demo(&db, mailer()).await.unwrap();
    assert!(added > 20, "{added}");
    assert!(
        connect::seed::demo(&db, mailer()).await.is_err(),
        "demo data loads into an empty register only"
    );

    let admin = app.admin_token().await;
    let page: Value = app
        .get("/api/v1/organisations?membership_status=observer", &admin)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Helsedirektoratet", "Statens legemiddelverk"]);
    let roche: Value = app
        .get("/api/v1/organisations?q=roche", &admin)
        .await
        .json()
        .await
        .unwrap();
    let roche = &roche["items"][0];
    assert_eq!(roche["founding_partner"], true);
    assert_eq!(roche["joined_on"], "2020-12-01");
    let history: Value = app
        .get(
            &format!(
                "/api/v1/organisations/{}/membership-changes",
                roche["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["to_status"], "partner");
}
