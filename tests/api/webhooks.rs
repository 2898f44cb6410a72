//! Webhooks through HTTP against a receiver of our own (a bare HTTP/1.1 listener): signed
//! deliveries checked with an independent HMAC, only the kinds subscribed to, every kind of event
//! from the change that causes it, retries with their log, giving up and retrying by hand, a
//! receiver that is down never failing the change, test events, secret rotation, validation,
//! versions, access and scopes, and two instances sending each event once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::allocations::trial;
use crate::helpers::*;

/// Fast retries and polling, three attempts, short time-outs.
const FAST: &[(&str, &str)] = &[
    ("CONNECT_WEBHOOK_POLL_MS", "50"),
    ("CONNECT_WEBHOOK_RETRY_BASE_SECS", "0"),
    ("CONNECT_WEBHOOK_MAX_ATTEMPTS", "3"),
    ("CONNECT_WEBHOOK_TIMEOUT_SECS", "2"),
];

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether the signature verifies with `secret`, computed here independently of the service.
    fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(
            format!(
                "{}.{}.{}",
                self.header("webhook-id"),
                self.header("webhook-timestamp"),
                self.body
            )
            .as_bytes(),
        );
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
    }
}

/// A bare HTTP/1.1 receiver: records every request and answers with the next queued status
/// (204 when none is queued).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let (g, a) = (got.clone(), answers.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (g, a) = (g.clone(), a.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                            break (i + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let headers = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
                        .collect();
                    let body =
                        String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
                    let status = a.lock().unwrap().pop_front().unwrap_or(204);
                    g.lock().unwrap().push(Received { headers, body });
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { url, got, answers }
    }

    fn answer_with(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests of one event type, once at least `n` have arrived (waits up to 15 s).
    async fn wait_for(&self, event_type: &str, n: usize) -> Vec<Received> {
        for _ in 0..300 {
            let of: Vec<Received> = self
                .all()
                .into_iter()
                .filter(|r| r.json()["type"] == event_type)
                .collect();
            if of.len() >= n {
                return of;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {n} {event_type} deliveries arrived; got {:?}",
            self.all()
        );
    }
}

/// Creates a subscription (as admin): the answer, with its secret.
async fn subscribe(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> Value {
    expect(
        app.post(
            "/api/v1/webhooks",
            admin,
            &json!({"url": url, "description": "test", "events": events}),
        )
        .await,
        201,
    )
    .await
}

/// Waits until the delivery reaches `state`; returns it.
async fn delivery_in(app: &TestApp, admin: &str, path: &str, state: &str) -> Value {
    for _ in 0..300 {
        let d = app.get_ok(path, admin).await;
        if d["state"] == state {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never became {state}");
}

#[tokio::test]
async fn a_subscription_gets_signed_events_of_its_kinds_only_with_a_delivery_log() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": receiver.url, "events": ["organisation.membership_changed"]}),
        )
        .await;
    assert_eq!(created.headers()["cache-control"], "no-store");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created = expect(created, 201).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let sub = &created["subscription"];
    assert_eq!(
        location,
        format!("/api/v1/webhooks/{}", sub["id"].as_str().unwrap())
    );
    assert_eq!(sub["events"], json!(["organisation.membership_changed"]));
    assert_eq!(sub["active"], true);
    // The secret is never read back.
    let read = app.get(&location, &admin).await;
    assert!(!read.text().await.unwrap().contains(&secret));
    let listed = app.list_items("/api/v1/webhooks", &admin).await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("secret").is_none());

    let org = app.create_org(&admin, "Bayer AS", "pharma").await;
    let change = app
        .change_status(&admin, &id_of(&org), "applicant", "2026-12-01")
        .await;
    // A drug is no event of its kinds.
    let got = receiver
        .wait_for("organisation.membership_changed", 1)
        .await;
    let r = &got[0];
    assert!(r.signed_with(&secret), "signature does not verify: {r:?}");
    assert!(!r.signed_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.header("connect-event-type"),
        "organisation.membership_changed"
    );
    let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let body = r.json();
    assert_eq!(body["id"], r.header("webhook-id"));
    assert_eq!(body["type"], "organisation.membership_changed");
    assert_eq!(body["data"]["organisation_id"], org["id"]);
    assert_eq!(body["data"]["name"], "Bayer AS");
    assert_eq!(body["data"]["from_status"], "none");
    assert_eq!(body["data"]["to_status"], "applicant");
    assert_eq!(body["data"]["effective_date"], "2026-12-01");
    assert_eq!(body["data"]["membership_change_id"], change["id"]);

    // The log: delivered at the first attempt, with the body as sent.
    let deliveries = app
        .list_items(&format!("{location}/deliveries"), &admin)
        .await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let d = delivery_in(
        &app,
        &admin,
        &format!("{location}/deliveries/{}", id_of(&deliveries[0])),
        "delivered",
    )
    .await;
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status"], 204);
    assert_eq!(d["event_id"], body["id"]);
    assert_eq!(d["payload"], body);
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempt_log"][0]["status"], 204);
    assert_eq!(receiver.all().len(), 1, "only the subscribed kind is sent");
    // Filters of the log.
    let none = app
        .list_items(&format!("{location}/deliveries?state=failed"), &admin)
        .await;
    assert!(none.is_empty());
    let by_event = app
        .list_items(
            &format!(
                "{location}/deliveries?event_id={}",
                body["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(by_event.len(), 1);
    let audit = app
        .audit_events(&admin, "action=webhook_subscription.created")
        .await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn failures_are_retried_then_given_up_and_can_be_sent_again_by_hand() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let sub = subscribe(
        &app,
        &admin,
        &receiver.url,
        &["organisation.membership_changed"],
    )
    .await;
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    // Two failures, then accepted: delivered at the third attempt, each attempt logged.
    receiver.answer_with(&[500, 503]);
    let org = app.create_org(&admin, "Novartis Norge AS", "pharma").await;
    app.change_status(&admin, &id_of(&org), "applicant", "2026-12-01")
        .await;
    let got = receiver
        .wait_for("organisation.membership_changed", 3)
        .await;
    assert_eq!(got[0].header("webhook-id"), got[2].header("webhook-id"));
    let list = app.list_items(&format!("{base}/deliveries"), &admin).await;
    let path = format!("{base}/deliveries/{}", id_of(&list[0]));
    let d = delivery_in(&app, &admin, &path, "delivered").await;
    assert_eq!(d["attempts"], 3);
    let statuses: Vec<Value> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(503), json!(204)]);
    assert_eq!(
        d["attempt_log"][0]["error"],
        "the receiver answered 500 Internal Server Error"
    );

    // Three failures: given up (three attempts at most here).
    receiver.answer_with(&[500, 500, 500]);
    app.change_status(&admin, &id_of(&org), "partner", "2026-12-02")
        .await;
    let failed = loop {
        let failed = app
            .list_items(&format!("{base}/deliveries?state=failed"), &admin)
            .await;
        if !failed.is_empty() {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let path = format!("{base}/deliveries/{}", id_of(&failed[0]));
    let d = app.get_ok(&path, &admin).await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_status"], 500);
    assert!(d["next_attempt_at"].is_null());
    let metrics = app.get_anon("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "connect_webhook_deliveries_failed_total{event_type=\"organisation.membership_changed\"} 1"
        ),
        "{metrics}"
    );

    // Sent again by hand: a fresh budget, accepted at once.
    let res = app.post(&format!("{path}/retry"), &admin, &json!({})).await;
    assert_eq!(res.headers()["location"].to_str().unwrap(), path);
    let again = expect(res, 202).await;
    assert_eq!(again["state"], "pending");
    let d = delivery_in(&app, &admin, &path, "delivered").await;
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 4);

    // An inactive subscription holds its queued deliveries; one pending cannot be retried.
    let etag = app.current_etag(&base, &admin).await;
    expect(
        app.patch(&base, &admin, Some(&etag), &json!({"active": false}))
            .await,
        200,
    )
    .await;
    let test = expect(
        app.post(&format!("{base}/test"), &admin, &json!({})).await,
        202,
    )
    .await;
    let test_path = format!("{base}/deliveries/{}", id_of(&test));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.get_ok(&test_path, &admin).await["state"], "pending");
    let res = app
        .post(&format!("{test_path}/retry"), &admin, &json!({}))
        .await;
    assert_problem(res, 409, "conflict").await;
    let etag = app.current_etag(&base, &admin).await;
    expect(
        app.patch(&base, &admin, Some(&etag), &json!({"active": true}))
            .await,
        200,
    )
    .await;
    delivery_in(&app, &admin, &test_path, "delivered").await;
}

#[tokio::test]
async fn a_receiver_that_is_down_never_fails_the_change_and_the_log_says_why() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sub = subscribe(
        &app,
        &admin,
        &format!("http://{closed}/hooks"),
        &["organisation.membership_changed"],
    )
    .await;
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    let org = app.create_org(&admin, "Pfizer AS", "pharma").await;
    // The change is made and answered as ever.
    app.change_status(&admin, &id_of(&org), "applicant", "2026-12-01")
        .await;
    let org_now = app
        .get_ok(&format!("/api/v1/organisations/{}", id_of(&org)), &admin)
        .await;
    assert_eq!(org_now["membership_status"], "applicant");
    let list = app.list_items(&format!("{base}/deliveries"), &admin).await;
    let d = delivery_in(
        &app,
        &admin,
        &format!("{base}/deliveries/{}", id_of(&list[0])),
        "failed",
    )
    .await;
    assert_eq!(d["attempts"], 3);
    assert!(d["last_status"].is_null());
    assert_eq!(d["last_error"], "could not connect to the receiver");
}

#[tokio::test]
async fn every_kind_of_event_comes_from_the_change_that_causes_it() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let kinds = [
        "organisation.membership_changed",
        "agreement.status_changed",
        "allocation.created",
        "cohort.stage_changed",
        "meeting.scheduled",
        "meeting.cancelled",
        "decision.closed",
    ];
    let sub = subscribe(&app, &admin, &receiver.url, &kinds).await;
    let secret = sub["secret"].as_str().unwrap();

    // An active agreement (submitted, then activated) with a cohort of one in stage 1.
    let t = trial(&app, 10, None, 1).await;
    let agreement = receiver.wait_for("agreement.status_changed", 2).await;
    let steps: Vec<(Value, Value)> = agreement
        .iter()
        .map(|r| {
            let d = r.json()["data"].clone();
            (d["from_status"].clone(), d["to_status"].clone())
        })
        .collect();
    assert!(
        steps.contains(&(json!("draft"), json!("submitted"))),
        "{steps:?}"
    );
    assert!(
        steps.contains(&(json!("submitted"), json!("active"))),
        "{steps:?}"
    );
    assert_eq!(
        agreement[0].json()["data"]["agreement_id"],
        t.agreement.as_str()
    );
    assert_eq!(
        agreement[0].json()["data"]["reference"],
        "CONNECT-ROCHE-2021"
    );

    let allocation = t.start(&app, "P-1", &t.cohort).await;
    let created = receiver.wait_for("allocation.created", 1).await;
    let data = created[0].json()["data"].clone();
    assert_eq!(data["allocation_id"], allocation["id"]);
    assert_eq!(data["agreement_id"], t.agreement.as_str());
    assert_eq!(data["cohort_id"], t.cohort.as_str());
    assert_eq!(data["trial_code"], "P-1");
    // Stage 1 of one is full (the cohort waits for the outcome); a benefit opens stage 2.
    let full = receiver.wait_for("cohort.stage_changed", 1).await;
    let data = full[0].json()["data"].clone();
    assert_eq!(data["cohort_id"], t.cohort.as_str());
    assert_eq!(
        (data["from_stage"].clone(), data["to_stage"].clone()),
        (json!("stage_1"), json!("stage_1"))
    );
    assert_ne!(data["from_status"], data["to_status"]);
    t.evaluate(&app, &allocation, "stable_disease").await;
    let stage = receiver.wait_for("cohort.stage_changed", 2).await;
    let data = stage[1].json()["data"].clone();
    assert_eq!(
        (data["from_stage"].clone(), data["to_stage"].clone()),
        (json!("stage_1"), json!("stage_2"))
    );
    // The company and the site became partners on the way.
    let membership = receiver
        .wait_for("organisation.membership_changed", 2)
        .await;
    assert!(
        membership
            .iter()
            .any(|r| r.json()["data"]["organisation_id"] == t.company.organisation_id.as_str())
    );

    // A working group's meeting: scheduled, moved, cancelled.
    let group = working_group(&app, &admin, "WG 1").await;
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": group, "title": "WG 1 monthly", "start": "2030-03-12T14:00:00",
                    "end": "2030-03-12T15:00:00"}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/meetings/{}", id_of(&meeting));
    let scheduled = receiver.wait_for("meeting.scheduled", 1).await;
    let data = scheduled[0].json()["data"].clone();
    assert_eq!(data["meeting_id"], meeting["id"]);
    assert_eq!(data["body_id"], group.as_str());
    assert_eq!(data["time_zone"], "Europe/Oslo");
    assert_eq!(data["starts_at"], "2030-03-12T13:00:00Z");
    assert_eq!(data["rescheduled"], false);
    let etag = app.current_etag(&path, &admin).await;
    expect(
        app.patch(
            &path,
            &admin,
            Some(&etag),
            &json!({"start": "2030-03-12T15:00:00", "end": "2030-03-12T16:00:00"}),
        )
        .await,
        200,
    )
    .await;
    let moved = receiver.wait_for("meeting.scheduled", 2).await;
    let data = moved[1].json()["data"].clone();
    assert_eq!(data["rescheduled"], true);
    assert_eq!(data["starts_at"], "2030-03-12T14:00:00Z");
    assert_eq!(data["sequence"], 1);
    expect(
        app.post(
            &format!("{path}/cancel"),
            &admin,
            &json!({"reason": "No quorum expected"}),
        )
        .await,
        200,
    )
    .await;
    let cancelled = receiver.wait_for("meeting.cancelled", 1).await;
    let data = cancelled[0].json()["data"].clone();
    assert_eq!(data["meeting_id"], meeting["id"]);
    assert_eq!(data["cancel_reason"], "No quorum expected");

    // A decision of the group, voted on and closed.
    let m = app
        .member(&admin, "Akershus universitetssykehus", "partner")
        .await;
    app.seat_member(&admin, &group, &m, "member").await;
    let decision = expect(
        app.post(
            "/api/v1/decisions",
            &admin,
            &json!({"body_id": group, "title": "Adopt the data plan", "text": "Adopted.",
                    "kind": "resolution", "reference": "WG1-2030-1"}),
        )
        .await,
        201,
    )
    .await;
    let d_path = format!("/api/v1/decisions/{}", id_of(&decision));
    let deadline = (chrono::Utc::now() + chrono::TimeDelta::days(7)).to_rfc3339();
    expect(
        app.post(
            &format!("{d_path}/open"),
            &admin,
            &json!({"deadline": deadline}),
        )
        .await,
        200,
    )
    .await;
    expect(
        app.send_json(
            reqwest::Method::PUT,
            &format!("{d_path}/vote"),
            &m.token,
            None,
            Some(&json!({"choice": "yes"})),
        )
        .await,
        200,
    )
    .await;
    expect(
        app.post(&format!("{d_path}/close"), &admin, &json!({}))
            .await,
        200,
    )
    .await;
    let closed = receiver.wait_for("decision.closed", 1).await;
    let data = closed[0].json()["data"].clone();
    assert_eq!(data["decision_id"], decision["id"]);
    assert_eq!(data["reference"], "WG1-2030-1");
    assert_eq!(data["yes"], 1);
    assert_eq!(data["closed_early"], true);

    // Every delivery is signed, and each event was sent once.
    let all = receiver.all();
    assert!(all.iter().all(|r| r.signed_with(secret)));
    let mut ids: Vec<&str> = all.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event was sent twice");
}

#[tokio::test]
async fn a_test_event_reaches_the_receiver_and_a_rotated_secret_signs_from_then_on() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let sub = subscribe(&app, &admin, &receiver.url, &["decision.closed"]).await;
    let old = sub["secret"].as_str().unwrap().to_owned();
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    let res = app.post(&format!("{base}/test"), &admin, &json!({})).await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let queued = expect(res, 202).await;
    assert_eq!(location, format!("{base}/deliveries/{}", id_of(&queued)));
    assert_eq!(queued["event_type"], "webhook.test");
    let got = receiver.wait_for("webhook.test", 1).await;
    assert!(got[0].signed_with(&old));
    assert_eq!(
        got[0].json()["data"]["subscription_id"],
        sub["subscription"]["id"]
    );

    let res = app
        .post(&format!("{base}/rotate-secret"), &admin, &json!({}))
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let rotated = expect(res, 200).await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated["subscription"]["version"], 2);
    expect(
        app.post(&format!("{base}/test"), &admin, &json!({})).await,
        202,
    )
    .await;
    let got = receiver.wait_for("webhook.test", 2).await;
    assert!(got[1].signed_with(&new));
    assert!(!got[1].signed_with(&old));
    let audit = app
        .audit_events(&admin, "action=webhook_subscription.secret_rotated")
        .await;
    assert_eq!(audit.len(), 1);
    assert!(
        !audit[0].to_string().contains(&new),
        "the secret is not audited"
    );
}

#[tokio::test]
async fn subscriptions_are_validated_versioned_and_deleted_with_their_log() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    for (body, field, code) in [
        (
            json!({"url": "ftp://example.org/x", "events": ["allocation.created"]}),
            "url",
            "invalid_format",
        ),
        (
            json!({"url": "https://user:pw@example.org/", "events": ["allocation.created"]}),
            "url",
            "invalid_format",
        ),
        (
            json!({"url": "example.org/hooks", "events": ["allocation.created"]}),
            "url",
            "invalid_format",
        ),
        (
            json!({"url": "https://example.org/", "events": []}),
            "events",
            "required",
        ),
        (
            json!({"url": "https://example.org/", "events": ["allocation.created", "allocation.created"]}),
            "events",
            "duplicate",
        ),
        (
            json!({"url": "https://example.org/", "events": ["allocation.created"], "description": "x".repeat(501)}),
            "description",
            "too_long",
        ),
    ] {
        let res = app.post("/api/v1/webhooks", &admin, &body).await;
        assert_field_error(res, field, code).await;
    }
    // An unknown kind (the test event is none to subscribe to) and an unknown field are refused
    // by the body's schema.
    for kind in ["allocation.deleted", "webhook.test"] {
        let res = app
            .post(
                "/api/v1/webhooks",
                &admin,
                &json!({"url": "https://example.org/", "events": [kind]}),
            )
            .await;
        assert_documented_problem(res).await;
    }
    let res = app
        .post(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": "https://example.org/", "events": ["allocation.created"], "secret": "mine"}),
        )
        .await;
    assert_documented_problem(res).await;

    let sub = subscribe(
        &app,
        &admin,
        "https://hooks.example.org/a",
        &["allocation.created"],
    )
    .await;
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    // Changes need the current version.
    let res = app
        .patch(&base, &admin, None, &json!({"description": "x"}))
        .await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app
        .patch(&base, &admin, Some("\"7\""), &json!({"description": "x"}))
        .await;
    assert_problem(res, 412, "precondition-failed").await;
    let res = app
        .patch(
            &base,
            &admin,
            Some("\"1\""),
            &json!({"events": ["meeting.cancelled", "meeting.scheduled"], "url": "https://hooks.example.org/b"}),
        )
        .await;
    let changed = expect(res, 200).await;
    assert_eq!(changed["version"], 2);
    assert_eq!(
        changed["events"],
        json!(["meeting.scheduled", "meeting.cancelled"])
    );
    assert_eq!(changed["url"], "https://hooks.example.org/b");
    // Nothing changed: the same version.
    let same = expect(
        app.patch(
            &base,
            &admin,
            Some("\"2\""),
            &json!({"url": "https://hooks.example.org/b"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(same["version"], 2);
    // Filters.
    let by_kind = app
        .list_items("/api/v1/webhooks?event=meeting.cancelled", &admin)
        .await;
    assert_eq!(by_kind.len(), 1);
    let none = app
        .list_items("/api/v1/webhooks?event=allocation.created", &admin)
        .await;
    assert!(none.is_empty());
    let inactive = app
        .list_items("/api/v1/webhooks?active=false", &admin)
        .await;
    assert!(inactive.is_empty());

    // Deleted with its log.
    let test = expect(
        app.post(&format!("{base}/test"), &admin, &json!({})).await,
        202,
    )
    .await;
    let res = app.delete(&base, &admin, Some("\"1\"")).await;
    assert_problem(res, 412, "precondition-failed").await;
    expect(app.delete(&base, &admin, Some("\"2\"")).await, 204).await;
    assert_problem(app.get(&base, &admin).await, 404, "not-found").await;
    let res = app
        .get(&format!("{base}/deliveries/{}", id_of(&test)), &admin)
        .await;
    assert_problem(res, 404, "not-found").await;
    {
        use connect::schema::{webhook_deliveries as wd, webhook_subscription_events as wse};
        use diesel::prelude::*;
        let mut conn = app.db_conn();
        let left: i64 = wd::table.count().get_result(&mut conn).unwrap();
        let kinds: i64 = wse::table.count().get_result(&mut conn).unwrap();
        assert_eq!(
            (left, kinds),
            (0, 0),
            "the log and kinds go with the subscription"
        );
    }
    assert_eq!(
        app.audit_events(&admin, "action=webhook_subscription.deleted")
            .await
            .len(),
        1
    );

    // At most fifty subscriptions.
    for i in 0..50 {
        subscribe(
            &app,
            &admin,
            &format!("https://hooks.example.org/{i}"),
            &["decision.closed"],
        )
        .await;
    }
    let res = app
        .post(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": "https://hooks.example.org/51", "events": ["decision.closed"]}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
}

#[tokio::test]
async fn only_the_secretariat_manages_webhooks_and_tokens_need_the_webhook_scopes() {
    let app = spawn_app_with(FAST).await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge AS", "partner").await;
    let body = json!({"url": "https://hooks.example.org/", "events": ["allocation.created"]});
    assert_problem(
        app.post("/api/v1/webhooks", &rep.token, &body).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get("/api/v1/webhooks", &rep.token).await,
        403,
        "forbidden",
    )
    .await;
    // A representative's token cannot carry the webhook scopes at all.
    let res = app
        .post(
            "/api/v1/api-tokens",
            &rep.token,
            &json!({"name": "hooks", "scopes": ["webhooks:write"]}),
        )
        .await;
    assert_documented_problem(res).await;

    let (_, read_only) = app.create_api_token(&admin, &["webhooks:read"]).await;
    let (_, other) = app.create_api_token(&admin, &["audit:read"]).await;
    let (_, write) = app
        .create_api_token(&admin, &["webhooks:read", "webhooks:write"])
        .await;
    assert_problem(
        app.get("/api/v1/webhooks", &other).await,
        403,
        "insufficient-scope",
    )
    .await;
    expect(app.get("/api/v1/webhooks", &read_only).await, 200).await;
    assert_problem(
        app.post("/api/v1/webhooks", &read_only, &body).await,
        403,
        "insufficient-scope",
    )
    .await;
    let created = expect(app.post("/api/v1/webhooks", &write, &body).await, 201).await;
    let base = format!(
        "/api/v1/webhooks/{}",
        created["subscription"]["id"].as_str().unwrap()
    );
    assert_problem(
        app.post(&format!("{base}/test"), &read_only, &json!({}))
            .await,
        403,
        "insufficient-scope",
    )
    .await;
    expect(
        app.get(&format!("{base}/deliveries"), &read_only).await,
        200,
    )
    .await;
}

#[tokio::test]
async fn two_instances_send_each_event_once() {
    let app = spawn_app_with(FAST).await;
    let second = app.second_instance_with(FAST).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    let sub = subscribe(&app, &admin, &receiver.url, &["meeting.scheduled"]).await;
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    // Twenty test events, queued through both instances; both workers drain the one outbox.
    for i in 0..20 {
        let on = if i % 2 == 0 { &app } else { &second };
        expect(
            on.post(&format!("{base}/test"), &admin, &json!({})).await,
            202,
        )
        .await;
    }
    let got = receiver.wait_for("webhook.test", 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.all();
    assert_eq!(got_now.len(), 20, "an event was sent more than once");
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

/// What a stopping webhook worker leaves: the deliveries it claimed and did not send are pending
/// again, due now, their attempt undone; another worker's claims are not touched.
#[tokio::test]
async fn a_stopping_worker_puts_back_only_its_own_deliveries() {
    use connect::schema::webhook_deliveries as wd;
    use connect::webhooks::repo::{claim, release};
    use diesel::prelude::*;
    let app = spawn_app_with(&[("CONNECT_WEBHOOK_WORKER", "false")]).await;
    let admin = app.admin_token().await;
    let sub = subscribe(
        &app,
        &admin,
        "http://127.0.0.1:9/hooks",
        &["decision.closed"],
    )
    .await;
    let base = format!(
        "/api/v1/webhooks/{}",
        sub["subscription"]["id"].as_str().unwrap()
    );
    for _ in 0..3 {
        expect(
            app.post(&format!("{base}/test"), &admin, &json!({})).await,
            202,
        )
        .await;
    }
    let mut conn = app.db_conn();
    let stale = chrono::TimeDelta::seconds(300);
    let mine = claim(&mut conn, "stopping", 2, stale).unwrap();
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter()
            .all(|c| c.attempt == 1 && c.attempts_in_budget == 1)
    );
    assert_eq!(claim(&mut conn, "other", 10, stale).unwrap().len(), 1);

    assert_eq!(release(&mut conn, "stopping").unwrap(), 2);
    let rows: Vec<(String, Option<String>, i32)> = wd::table
        .select((wd::state, wd::claimed_by, wd::attempts))
        .order(wd::state.asc())
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("pending".into(), None, 0),
            ("pending".into(), None, 0),
            ("sending".into(), Some("other".into()), 1),
        ]
    );
    assert_eq!(release(&mut conn, "stopping").unwrap(), 0);
    assert_eq!(claim(&mut conn, "next", 10, stale).unwrap().len(), 2);
}
