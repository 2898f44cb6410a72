//! `connect seed demo` loads the consortium's partners with their membership history, and its
//! bodies with their invented members.

use serde_json::Value;

use crate::helpers::*;

fn mailer() -> std::sync::Arc<connect::notifications::Mailer> {
    std::sync::Arc::new(
        connect::notifications::Mailer::new("http://127.0.0.1", "CONNECT <no-reply@localhost>")
            .unwrap(),
    )
}

/// A connection to the test app's database, as `connect seed` opens one.
async fn database(app: &TestApp) -> connect::db::Db {
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
}

#[tokio::test]
async fn demo_data_loads_once_with_history() {
    let app = spawn_app().await;
    let db = database(&app).await;
    let seeded = connect::seed::demo(&db, mailer()).await.unwrap();
    assert_eq!(seeded.added, 23);
    assert_eq!(seeded.skipped, 0);
    assert_eq!(seeded.drugs, 14, "Roche's eight and Novartis's six");
    assert_eq!(
        seeded.trial,
        connect::seed::TrialSeeded {
            agreements: 2,
            cohorts: 5,
            patients: 25
        }
    );
    assert_eq!(
        seeded.governance,
        connect::seed::GovernanceSeeded {
            people: 19,
            bodies: 7,
            seats: 43,
            decisions: 2
        }
    );
    let again = connect::seed::demo(&db, mailer()).await.unwrap();
    assert_eq!(
        (again.added, again.skipped, again.drugs, again.trial),
        (0, 23, 0, connect::seed::TrialSeeded::default()),
        "a second seed adds nothing and says so"
    );
    assert_eq!(again.governance, connect::seed::GovernanceSeeded::default());
    assert_eq!(
        seeded.proceedings,
        connect::seed::ProceedingsSeeded {
            meetings: 1,
            agenda_items: 5,
            action_items: 2
        }
    );
    assert_eq!(
        again.proceedings,
        connect::seed::ProceedingsSeeded::default()
    );
    assert_eq!(
        seeded.meetings,
        connect::seed::MeetingsSeeded {
            series: 5,
            moved: 1,
            cancelled: 1,
            meetings: 1,
            guests: 3,
            agenda_items: 3
        }
    );
    assert_eq!(
        seeded.events,
        connect::seed::EventsSeeded {
            events: 2,
            registrations: 8
        }
    );
    assert_eq!(again.meetings, connect::seed::MeetingsSeeded::default());
    assert_eq!(again.events, connect::seed::EventsSeeded::default());

    // The board: its chair from Oslo University Hospital, members from Oslo Cancer Cluster,
    // hospitals and industry; the working groups meeting since February 2021.
    let admin = app.admin_token().await;
    let board = app.list_items("/api/v1/bodies?kind=board", &admin).await;
    assert_eq!(names_of(&board), ["CONNECT board"]);
    assert_eq!(board[0]["member_count"], 5);
    let seats = app
        .list_items(
            &format!("/api/v1/bodies/{}/members?role=chair", id_of(&board[0])),
            &admin,
        )
        .await;
    assert_eq!(seats[0]["organisation_name"], "Oslo universitetssykehus HF");
    let groups = app
        .list_items("/api/v1/bodies?kind=working_group", &admin)
        .await;
    assert_eq!(groups.len(), 4);
    assert!(groups.iter().all(|g| g["started_on"] == "2021-02-01"));
    // An observer organisation's person observes, without a vote.
    let ga = app
        .list_items("/api/v1/bodies?kind=general_assembly", &admin)
        .await;
    let observers = app
        .list_items(
            &format!("/api/v1/bodies/{}/members?role=observer", id_of(&ga[0])),
            &admin,
        )
        .await;
    assert_eq!(observers.len(), 2);
    assert!(observers.iter().all(|s| s["votes"] == false));
    // Two invented decisions: the general assembly's work plan adopted, the board's open.
    let decisions = app.list_items("/api/v1/decisions", &admin).await;
    let status_of = |reference: &str| {
        decisions
            .iter()
            .find(|d| d["reference"] == reference)
            .map(|d| d["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of("GA-2026-02").as_deref(), Some("adopted"));
    assert_eq!(status_of("BOARD-2026-21").as_deref(), Some("open"));
    // The board's meeting of November 2026: held, its agenda of five items, everyone present
    // but one excused, the minutes approved, one action item done and one open.
    let meetings = app
        .list_items(
            &format!("/api/v1/meetings?body_id={}", id_of(&board[0])),
            &admin,
        )
        .await;
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0]["status"], "held");
    let meeting = format!("/api/v1/meetings/{}", id_of(&meetings[0]));
    let agenda = app.get_ok(&format!("{meeting}/agenda-items"), &admin).await;
    let titles: Vec<&str> = agenda["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 5);
    assert_eq!(titles[1], "IMPRESS-Norway: status of the national trial");
    assert_eq!(agenda["total_minutes"], 120);
    assert_eq!(agenda["overruns"], false);
    assert_eq!(agenda["items"][1]["documents"].as_array().unwrap().len(), 1);
    let attendance = app.get_ok(&format!("{meeting}/attendance"), &admin).await;
    assert_eq!(attendance["counts"]["present"], 4);
    assert_eq!(attendance["counts"]["excused"], 1);
    assert!(attendance["quorum"].is_object());
    let minutes = app.get_ok(&format!("{meeting}/minutes"), &admin).await;
    assert_eq!(minutes["status"], "approved");
    let tasks = app
        .list_items(&format!("{meeting}/action-items"), &admin)
        .await;
    let mut statuses: Vec<&str> = tasks
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["done", "open"]);

    // The working groups' digital meetings since February 2021, as series expanded in a range:
    // WG1 on the second Tuesday at 14:00 Oslo time, its April meeting moved to the Thursday and
    // May's cancelled; WG2 on the first Thursday, WG3 on the last Wednesday, WG4 every second
    // Friday.
    let spring = app
        .list_items(
            "/api/v1/meetings?from=2021-02-01T00:00:00Z&to=2021-07-01T00:00:00Z&limit=200",
            &admin,
        )
        .await;
    let count = |items: &[Value], title: &str| items.iter().filter(|m| m["title"] == title).count();
    assert_eq!(count(&spring, "WG1 monthly meeting"), 5);
    assert_eq!(count(&spring, "WG2 monthly meeting"), 5);
    assert_eq!(count(&spring, "WG3 monthly meeting (2021-2022)"), 5);
    assert_eq!(count(&spring, "WG4 meeting every second week"), 11);
    assert_eq!(spring.len(), 26, "{spring:?}");
    assert!(spring.iter().all(|m| {
        m["video_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://teams.example.com/"))
    }));
    let wg1: Vec<&Value> = spring
        .iter()
        .filter(|m| m["title"] == "WG1 monthly meeting")
        .collect();
    let seen: Vec<(&str, &str, &str)> = wg1
        .iter()
        .map(|m| {
            (
                m["local_start"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
                m["occurrence_of"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("2021-02-09T14:00:00", "scheduled", "2021-02-09T13:00:00Z"),
            ("2021-03-09T14:00:00", "scheduled", "2021-03-09T13:00:00Z"),
            ("2021-04-15T14:00:00", "scheduled", "2021-04-13T12:00:00Z"),
            ("2021-05-11T14:00:00", "cancelled", "2021-05-11T12:00:00Z"),
            ("2021-06-08T14:00:00", "scheduled", "2021-06-08T12:00:00Z"),
        ]
    );
    // One series; the moved and the cancelled occurrences are rows of their own.
    assert!(wg1.iter().all(|m| m["series_id"] == wg1[0]["series_id"]));
    let own: Vec<&str> = wg1
        .iter()
        .filter(|m| m["id"] != m["series_id"])
        .map(|m| m["local_start"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["2021-04-15T14:00:00", "2021-05-11T14:00:00"]);
    assert!(wg1[3]["cancel_reason"].is_string());
    // WG3 met monthly until December 2022, then every second month: two series.
    let turn = app
        .list_items(
            "/api/v1/meetings?from=2022-11-01T00:00:00Z&to=2023-04-01T00:00:00Z&limit=200",
            &admin,
        )
        .await;
    let wg3: Vec<(&str, &str)> = turn
        .iter()
        .filter(|m| m["title"].as_str().unwrap().starts_with("WG3"))
        .map(|m| {
            (
                m["title"].as_str().unwrap(),
                m["local_start"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        wg3,
        [
            ("WG3 monthly meeting (2021-2022)", "2022-11-30T15:00:00"),
            ("WG3 monthly meeting (2021-2022)", "2022-12-28T15:00:00"),
            ("WG3 meeting every second month", "2023-01-25T15:00:00"),
            ("WG3 meeting every second month", "2023-03-29T15:00:00"),
        ]
    );

    // The dialogue meeting between industry and IMPRESS-Norway/InPreD: the forum's seven
    // members and three guests invited, three agenda items.
    let forum = app.list_items("/api/v1/bodies?kind=other", &admin).await;
    assert_eq!(
        names_of(&forum),
        ["Dialogue forum: industry, IMPRESS-Norway and InPreD"]
    );
    let dialogue = app
        .list_items(
            &format!("/api/v1/meetings?body_id={}", id_of(&forum[0])),
            &admin,
        )
        .await;
    assert_eq!(dialogue.len(), 1);
    assert_eq!(dialogue[0]["status"], "scheduled");
    assert_eq!(dialogue[0]["invitee_count"], 10);
    let dialogue = format!("/api/v1/meetings/{}", id_of(&dialogue[0]));
    let invitees = app
        .list_items(&format!("{dialogue}/invitees"), &admin)
        .await;
    let guests: Vec<&str> = invitees
        .iter()
        .filter(|i| i["guest"] == true)
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(guests.len(), 3);
    assert!(guests.iter().all(|e| e.ends_with("@example.org")));
    let agenda = app
        .get_ok(&format!("{dialogue}/agenda-items"), &admin)
        .await;
    assert_eq!(agenda["items"].as_array().unwrap().len(), 3);
    assert_eq!(agenda["total_minutes"], 105);

    // Arendalsuka: the 2021 meeting held, with its recording; the next one open to the public,
    // eight of its sixty places taken.
    let events = app
        .list_items("/api/v1/meetings?kind=open_event", &admin)
        .await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["status"], "held");
    assert!(
        events[0]["title"]
            .as_str()
            .unwrap()
            .contains("Arendalsuka 2021")
    );
    assert!(events[0]["recording_url"].is_string());
    let year = connect::seed::arendalsuka_year(chrono::Utc::now().date_naive()).unwrap();
    let public = app.get_anon("/api/v1/events").await;
    let public: Value = expect(public, 200).await;
    let items = public["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{public}");
    assert_eq!(items[0]["title"], connect::seed::arendalsuka_title(year));
    assert_eq!(items[0]["language"], "nb");
    assert_eq!(
        (
            &items[0]["capacity"],
            &items[0]["places_left"],
            &items[0]["waiting_list"]
        ),
        (&Value::from(60), &Value::from(52), &Value::from(0))
    );
    assert!(
        items[0]["local_start"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{year}-08-"))
    );
    let registrants = app
        .list_items(
            &format!("/api/v1/meetings/{}/registrations", id_of(&items[0])),
            &admin,
        )
        .await;
    assert_eq!(registrants.len(), 8);
    assert!(registrants.iter().all(|r| r["status"] == "confirmed"));

    // The cohorts as their invented patients' outcomes left them, by the plan's rule.
    let cohorts = app.get_ok("/api/v1/cohorts?limit=200", &admin).await;
    let mut states: Vec<(String, String, String, i64)> = cohorts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tumour_type"].as_str().unwrap().to_owned(),
                c["stage"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["enrolled"].as_i64().unwrap(),
            )
        })
        .collect();
    states.sort();
    let expected = [
        ("anaplastic thyroid cancer", "stage_2", "open", 3),
        ("biliary tract cancer", "closed", "closed", 8),
        ("colorectal cancer", "stage_2", "open", 11),
        ("non-small cell lung cancer", "stage_1", "open", 0),
        ("salivary gland cancer", "stage_1", "open", 3),
    ]
    .map(|(t, s, st, n)| (t.to_owned(), s.to_owned(), st.to_owned(), n));
    assert_eq!(states, expected);
    let usage = app.get_ok("/api/v1/agreements/usage", &admin).await;
    let used: Vec<i64> = usage["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["used"].as_i64().unwrap())
        .collect();
    assert_eq!(used.iter().sum::<i64>(), 25, "{usage}");

    // The drugs, findable as a site would look for them: every protein kinase inhibitor on offer.
    let kinase: Value = app
        .get("/api/v1/drugs?atc=L01E&status=available&limit=200", &admin)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = kinase["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["generic_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "alectinib",
            "alpelisib",
            "capmatinib",
            "cobimetinib",
            "dabrafenib",
            "entrectinib",
            "trametinib",
            "vemurafenib"
        ]
    );

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

#[tokio::test]
async fn demo_data_loads_beside_existing_records_and_skips_names_taken() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // One of the demo's names, in another case: names are unique case-insensitively.
    let own = app.create_org(&admin, "ROCHE NORGE AS", "pharma").await;
    app.create_org(&admin, "Nordlys Onkologi AS", "biotech")
        .await;
    let db = database(&app).await;
    let seeded = connect::seed::demo(&db, mailer()).await.unwrap();
    assert_eq!((seeded.added, seeded.skipped), (22, 1));

    let all = app
        .list_items("/api/v1/organisations?limit=200", &admin)
        .await;
    assert_eq!(all.len(), 24);
    let roche: Vec<&Value> = all
        .iter()
        .filter(|o| {
            o["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("roche norge as")
        })
        .collect();
    assert_eq!(roche.len(), 1);
    assert_eq!(
        roche[0]["id"], own["id"],
        "the record of one's own is kept as it was"
    );
    assert_eq!(roche[0]["membership_status"], "none");
}
