//! `/api/v1/webhooks`: subscriptions, their delivery log, test events and retries. Admins only.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CreateSubscription, Delivery, DeliveryKind, DeliveryState, EventType, Subscription,
    SubscriptionWithSecret, UpdateSubscription,
};
use super::repo::{self, DeliveriesFilter, SubscriptionsFilter};
use crate::auth::{Auth, Scope, policy};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionsQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub active: Option<bool>,
    /// Only subscriptions receiving this kind of event.
    pub event: Option<EventType>,
}

/// List webhook subscriptions
///
/// Oldest first; never their secrets.
#[utoipa::path(
    tag = "webhooks",
    params(SubscriptionsQuery),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksRead])),
    responses(
        (status = 200, description = "A page of subscriptions", body = Page<Subscription>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<SubscriptionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new("webhooks", q.limit, q.cursor.as_deref(), 1)?;
    let filter = SubscriptionsFilter {
        active: q.active,
        event: q.event,
    };
    let page = auth
        .read(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksRead)?;
            repo::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Subscribe to events
///
/// Deliveries are POSTed to `url` as JSON (`{"id", "type", "timestamp", "data"}`) and signed as
/// [Standard Webhooks](https://www.standardwebhooks.com) describes: headers `webhook-id` (the
/// event's id, the same on every attempt), `webhook-timestamp` (Unix seconds) and
/// `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`,
/// keyed with the base64-decoded secret after `whsec_`). Answer 2xx within 10 seconds; anything
/// else is tried again with growing pauses (30 s, 1 min, 2 min, … up to an hour, 8 attempts). The
/// secret is in this answer only. At most 50 subscriptions.
#[utoipa::path(
    tag = "webhooks",
    request_body = CreateSubscription,
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 201, description = "Created, with its secret", body = SubscriptionWithSecret,
            headers(("Location" = String, description = "The new subscription"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "There are already 50 subscriptions", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateSubscription>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (subscription, secret) = auth
        .write(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
            repo::create(conn, caller, body)
        })
        .await?;
    let (location, version) = (
        format!("/api/v1/webhooks/{}", subscription.id),
        subscription.version,
    );
    let mut res = created(
        location,
        version,
        &SubscriptionWithSecret {
            subscription,
            secret,
        },
    );
    no_store(&mut res);
    Ok(res)
}

fn no_store(res: &mut HttpResponse) {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
}

/// Get a webhook subscription
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksRead])),
    responses(
        (status = 200, description = "The subscription", body = Subscription, headers(("ETag" = String, description = "Its version"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let sub = auth
        .read(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksRead)?;
            repo::get(conn, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, sub.version, &sub))
}

/// Update a webhook subscription
///
/// Needs `If-Match`. `events` replaces the whole list. Making it inactive stops new events and
/// holds its queued deliveries until it is active again.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    request_body = UpdateSubscription,
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 200, description = "Updated", body = Subscription, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateSubscription>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let sub = auth
        .write(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, sub.version, &sub))
}

/// Delete a webhook subscription
///
/// Needs `If-Match`. Its queued deliveries and its log go with it.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    auth.write(&state.db, move |conn, caller| {
        policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
        repo::delete(conn, caller, &id, &if_match)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a subscription's secret
///
/// The new secret signs every attempt from now on, retries of older events included; the old
/// one stops at once. It is in this answer only.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 200, description = "The subscription and its new secret", body = SubscriptionWithSecret,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let (subscription, secret) = auth
        .write(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
            repo::rotate_secret(conn, caller, &id)
        })
        .await?;
    let version = subscription.version;
    let mut res = versioned(
        StatusCode::OK,
        version,
        &SubscriptionWithSecret {
            subscription,
            secret,
        },
    );
    no_store(&mut res);
    Ok(res)
}

/// Send a test event
///
/// Queues a `webhook.test` event for this subscription alone, sent within a second or so (an
/// inactive subscription holds it until it is active again), signed like every delivery. Follow
/// it in the delivery log.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id")),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 202, description = "Queued", body = Delivery,
            headers(("Location" = String, description = "The delivery in the log"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/test")]
pub async fn test_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let delivery = auth
        .write(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
            repo::send_test(conn, caller, &id)
        })
        .await?;
    Ok(accepted(&delivery))
}

fn accepted(delivery: &Delivery) -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((
            header::LOCATION,
            format!(
                "/api/v1/webhooks/{}/deliveries/{}",
                delivery.subscription_id, delivery.id
            ),
        ))
        .json(delivery)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub state: Option<DeliveryState>,
    pub event_type: Option<DeliveryKind>,
    /// The deliveries of one event (its `webhook-id`).
    pub event_id: Option<Id>,
}

/// A subscription's delivery log
///
/// Newest first, with each delivery's state, attempts and the last answer; read one delivery for
/// every attempt.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Subscription id"), DeliveriesQuery),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksRead])),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<Delivery>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let q = query.into_inner();
    let page = PageRequest::new(
        format!("webhooks/{id}/deliveries"),
        q.limit,
        q.cursor.as_deref(),
        1,
    )?;
    let filter = DeliveriesFilter {
        state: q.state,
        event_type: q.event_type,
        event_id: q.event_id,
    };
    let page = auth
        .read(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksRead)?;
            repo::deliveries(conn, &id, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a delivery
///
/// With the body sent and every attempt: when, the receiver's status or the error, how long.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Subscription id"),
        ("delivery_id" = uuid::Uuid, Path, description = "Delivery id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksRead])),
    responses(
        (status = 200, description = "The delivery", body = Delivery),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription or delivery", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries/{delivery_id}")]
pub async fn get_webhook_delivery(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let (id, delivery) = (Id::from(id), Id::from(delivery));
    let delivery = auth
        .read(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksRead)?;
            repo::get_delivery(conn, &id, &delivery)
        })
        .await?;
    Ok(HttpResponse::Ok().json(delivery))
}

/// Send a delivery again
///
/// For a `failed` delivery (or a `delivered` one the receiver lost): queued at once with a fresh
/// budget of attempts, the same `webhook-id` and body, signed anew. 409 while it is pending or
/// being sent.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Subscription id"),
        ("delivery_id" = uuid::Uuid, Path, description = "Delivery id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::WebhooksWrite])),
    responses(
        (status = 202, description = "Queued again", body = Delivery,
            headers(("Location" = String, description = "The delivery in the log"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is still pending or being sent", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_webhook_delivery(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let (id, delivery) = (Id::from(id), Id::from(delivery));
    let delivery = auth
        .write(&state.db, move |conn, caller| {
            policy::manage_webhooks(caller, Scope::WebhooksWrite)?;
            repo::retry(conn, caller, &id, &delivery)
        })
        .await?;
    Ok(accepted(&delivery))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_webhook_secret)
        .service(test_webhook)
        .service(list_webhook_deliveries)
        .service(get_webhook_delivery)
        .service(retry_webhook_delivery);
}
