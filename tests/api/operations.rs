use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.get_anon("/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    assert_eq!(app.get_anon("/readyz").await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_pool() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Metricsco", "pharma").await;
    let path = format!("/api/v1/organisations/{}", org["id"].as_str().unwrap());
    for _ in 0..3 {
        assert_eq!(app.get(&path, &admin).await.status(), 200);
    }
    let missing = format!("/api/v1/organisations/{}", uuid::Uuid::now_v7());
    assert_eq!(app.get(&missing, &admin).await.status(), 404);

    let res = app.get_anon("/metrics").await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("# TYPE connect_http_requests_total counter"),
        "{text}"
    );
    // The route label is the route pattern, not the path with its id.
    let line = |status: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("connect_http_requests_total{")
                    && l.contains(r#"route="/api/v1/organisations/{id}""#)
                    && l.contains(r#"method="GET""#)
                    && l.contains(&format!(r#"status="{status}""#))
            })
            .map(str::to_owned)
    };
    let ok = line("200").unwrap_or_else(|| panic!("no GET 200 line for the route:\n{text}"));
    assert!(ok.ends_with(" 3"), "three requests counted: {ok}");
    let not_found = line("404").unwrap_or_else(|| panic!("no 404 line:\n{text}"));
    assert!(not_found.ends_with(" 1"), "{not_found}");
    assert!(
        !text.contains(org["id"].as_str().unwrap()),
        "ids stay out of labels"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("connect_http_request_duration_seconds_bucket{")),
        "{text}"
    );
    let pool = text
        .lines()
        .find(|l| l.starts_with("connect_db_pool_connections "))
        .unwrap_or_else(|| panic!("no pool gauge:\n{text}"));
    let open: i64 = pool.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(open >= 1, "{pool}");
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_insane_one_replaced() {
    let app = spawn_app().await;
    let with_id = |id: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(app.url("/healthz"))
                .header("X-Request-Id", id)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    for sane in ["abc-123", "client.req:42_x", &"a".repeat(64)] {
        assert_eq!(with_id(sane.to_owned()).await, sane);
    }
    for insane in [
        "a".repeat(65),
        "has space".to_owned(),
        "semi;colon".to_owned(),
        "<script>".to_owned(),
        "quote\"d".to_owned(),
    ] {
        let got = with_id(insane.clone()).await;
        assert_ne!(got, insane);
        assert_eq!(got.len(), 32, "a generated id: {got}");
        assert!(got.chars().all(|c| c.is_ascii_hexdigit()), "{got}");
    }
    // Without one, each request gets its own.
    let a = app.get_anon("/healthz").await.headers()["x-request-id"].clone();
    let b = app.get_anon("/healthz").await.headers()["x-request-id"].clone();
    assert_ne!(a, b);
    // Errors carry it too.
    let res = app
        .client
        .get(app.url("/api/v1/organisations"))
        .header("X-Request-Id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["x-request-id"], "trace-me-1");
}

/// The database hops and statements a route cost so far, from `/metrics`.
async fn db_cost(app: &TestApp, method: &str, route: &str) -> (u64, u64) {
    let text = app.get_anon("/metrics").await.text().await.unwrap();
    let value = |metric: &str| {
        text.lines()
            .find(|l| {
                l.starts_with(&format!("{metric}{{"))
                    && l.contains(&format!(r#"method="{method}""#))
                    && l.contains(&format!(r#"route="{route}""#))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (
        value("connect_http_request_db_hops_total"),
        value("connect_http_request_db_statements_total"),
    )
}

/// What one request costs the database: blocking hops (checkouts on the blocking pool) and the
/// statements sent in them. Counted per request, so background work does not disturb it.
#[tokio::test]
async fn requests_cost_few_database_round_trips() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let list = "/api/v1/organisations";
    app.create_org(&admin, "Warm-up", "pharma").await;
    assert_eq!(app.get(list, &admin).await.status(), 200);

    let (hops0, statements0) = db_cost(&app, "POST", list).await;
    let res = app
        .post_idempotent(
            list,
            &admin,
            "cost-1",
            &serde_json::json!({"name": "Costly", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let (hops1, statements1) = db_cost(&app, "POST", list).await;
    let (get_hops0, get_statements0) = db_cost(&app, "GET", list).await;
    assert_eq!(app.get(list, &admin).await.status(), 200);
    let (get_hops1, get_statements1) = db_cost(&app, "GET", list).await;

    let post = (hops1 - hops0, statements1 - statements0);
    let get = (get_hops1 - get_hops0, get_statements1 - get_statements0);
    eprintln!("idempotent POST: {post:?} (hops, statements); GET list: {get:?}");
    // The claim (with the caller's check), the handler's transaction (with the caller), and
    // storing the response.
    assert_eq!(post.0, 3, "an idempotent POST");
    assert_eq!(get.0, 1, "a list page: the caller and the page in one hop");
    assert_eq!(get.1, 2, "the caller and the page, no ping");
}
