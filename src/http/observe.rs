//! One middleware for what every request needs observed: a request id (`X-Request-Id`, taken from
//! the client when it is sane, otherwise generated and always echoed), a structured log line,
//! Prometheus metrics by route and status (with the database hops and statements the request
//! cost, see [`crate::db::Tally`]), and a last guard that turns any error response not
//! already a problem document (actix's own 404, a payload error) into one.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::db::Tally;
use crate::error::{PROBLEM_JSON, problem_for_status};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
    .then(|| s.to_owned())
}

/// The method as a metrics label: one of the standard methods, or `other`, so that requests with
/// made-up methods (`XABC /healthz`) cannot create new series without limit.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let start = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());

    let (res, db) = crate::db::tally(next.call(req)).await;
    let mut res = match res {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => return Err(e),
    };

    let status = res.status();
    if (status.is_client_error() || status.is_server_error())
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_none_or(|ct| ct.as_bytes() != PROBLEM_JSON.as_bytes())
    {
        // An `Allow` actix gave with its own 405 stays.
        let allow = res.headers().get(header::ALLOW).cloned();
        let problem = problem_for_status(status).error_response();
        res = res.into_response(problem.map_into_boxed_body());
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = start.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(
            method,
            &route,
            res.status().as_u16(),
            elapsed.as_secs_f64(),
            db,
        );
    }
    // A path can carry a secret (a calendar feed token, an invitation token): log the route then.
    let path = res.request().path().to_owned();
    let path = if route.contains("token") {
        route.clone()
    } else {
        path
    };
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        path = %path,
        status = res.status().as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        db_hops = db.hops,
        db_statements = db.statements,
        "request"
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

/// The service's Prometheus registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    db_hops: IntCounterVec,
    db_statements: IntCounterVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    mail_sent: IntCounterVec,
    mail_failed: IntCounterVec,
    mail_backlog: IntGauge,
    webhooks_delivered: IntCounterVec,
    webhooks_failed: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("connect".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests served, by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency, by method and route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let db_hops = IntCounterVec::new(
            Opts::new(
                "http_request_db_hops_total",
                "Blocking database hops (connection checkouts) made by HTTP requests, by method and route",
            ),
            &["method", "route"],
        )?;
        let db_statements = IntCounterVec::new(
            Opts::new(
                "http_request_db_statements_total",
                "SQL statements sent by HTTP requests, by method and route",
            ),
            &["method", "route"],
        )?;
        let pool_connections = IntGauge::new("db_pool_connections", "Open database connections")?;
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        let mail_sent = IntCounterVec::new(
            Opts::new("notifications_sent_total", "E-mails sent, by kind"),
            &["kind"],
        )?;
        let mail_failed = IntCounterVec::new(
            Opts::new(
                "notifications_failed_total",
                "E-mails given up on (permanent error or too many attempts), by kind",
            ),
            &["kind"],
        )?;
        let mail_backlog = IntGauge::new(
            "notifications_backlog",
            "E-mails waiting in the outbox (pending or being sent)",
        )?;
        let webhooks_delivered = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_delivered_total",
                "Webhook deliveries a receiver accepted (2xx), by event type",
            ),
            &["event_type"],
        )?;
        let webhooks_failed = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_failed_total",
                "Webhook deliveries given up on after their last attempt, by event type",
            ),
            &["event_type"],
        )?;
        registry.register(Box::new(webhooks_delivered.clone()))?;
        registry.register(Box::new(webhooks_failed.clone()))?;
        registry.register(Box::new(mail_sent.clone()))?;
        registry.register(Box::new(mail_failed.clone()))?;
        registry.register(Box::new(mail_backlog.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(db_hops.clone()))?;
        registry.register(Box::new(db_statements.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_idle.clone()))?;
        Ok(Self {
            registry,
            requests,
            durations,
            db_hops,
            db_statements,
            pool_connections,
            pool_idle,
            mail_sent,
            mail_failed,
            mail_backlog,
            webhooks_delivered,
            webhooks_failed,
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64, db: Tally) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.durations
            .with_label_values(&[method, route])
            .observe(seconds);
        if db.hops > 0 {
            self.db_hops
                .with_label_values(&[method, route])
                .inc_by(u64::from(db.hops));
            self.db_statements
                .with_label_values(&[method, route])
                .inc_by(u64::from(db.statements));
        }
    }

    /// Makes the sent and failed counters of every kind exist at zero, so a scrape sees them
    /// before the first message of a kind is sent or given up on (Prometheus' convention).
    pub fn know_mail_kinds<'a>(&self, kinds: impl IntoIterator<Item = &'a str>) {
        for kind in kinds {
            self.mail_sent.with_label_values(&[kind]);
            self.mail_failed.with_label_values(&[kind]);
        }
    }

    pub fn mail_sent(&self, kind: &str) {
        self.mail_sent.with_label_values(&[kind]).inc();
    }

    pub fn mail_failed(&self, kind: &str) {
        self.mail_failed.with_label_values(&[kind]).inc();
    }

    pub fn webhook_delivered(&self, event_type: &str) {
        self.webhooks_delivered
            .with_label_values(&[event_type])
            .inc();
    }

    pub fn webhook_failed(&self, event_type: &str) {
        self.webhooks_failed.with_label_values(&[event_type]).inc();
    }

    pub fn set_mail_backlog(&self, n: i64) {
        self.mail_backlog.set(n);
    }

    /// Renders the Prometheus text format, with the pool's state read now.
    pub fn render(&self, pool: &crate::db::Pool) -> String {
        let state = pool.state();
        self.pool_connections.set(i64::from(state.connections));
        self.pool_idle.set(i64::from(state.idle_connections));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
