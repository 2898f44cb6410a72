//! `/api/v1/people` and `/api/v1/organisations/{id}/people`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{CreatePerson, Person, UpdatePerson};
use super::repo::{self, PeopleFilter};
use crate::auth::policy;
use crate::auth::{Auth, Caller, Scope};
use crate::core::Id;
use crate::db::DbConn;
use crate::error::{ApiError, Problem};
use crate::http::csv::{csv_response, csv_time, wants_csv};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Page size, 1 to 200 (default 50). Ignored for CSV, which lists every match.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub organisation_id: Option<Id>,
    /// Only people with (`true`) or without (`false`) a user account.
    pub has_account: Option<bool>,
    /// Text search in name and e-mail (case-insensitive).
    pub q: Option<String>,
}

const CSV_HEADERS: [&str; 8] = [
    "id",
    "organisation_id",
    "name",
    "email",
    "title",
    "phone",
    "has_account",
    "updated_at",
];

fn csv_row(p: Person) -> Vec<String> {
    vec![
        p.id.into(),
        p.organisation_id.map(String::from).unwrap_or_default(),
        p.name,
        p.email,
        p.title.unwrap_or_default(),
        p.phone.unwrap_or_default(),
        p.user_id.is_some().to_string(),
        csv_time(&p.updated_at),
    ]
}

/// What a caller's list of people covers: their visibility, and for `/organisations/{id}/people`
/// (`of`), a 404 unless they see that organisation.
fn scoped(
    conn: &mut DbConn,
    caller: &Caller,
    of: Option<&Id>,
    filter: PeopleFilter,
) -> Result<(policy::Visibility, PeopleFilter), ApiError> {
    caller.require_scope(Scope::PeopleRead)?;
    if let Some(org_id) = of {
        crate::organisations::repo::get_visible(conn, caller, org_id)?;
    }
    Ok((policy::visibility(caller), filter))
}

/// The list a cursor is bound to: all people, or one organisation's.
fn list_name(of: Option<&Id>) -> String {
    of.map_or_else(
        || "people".to_owned(),
        |id| format!("organisations/{id}/people"),
    )
}

async fn respond_list(
    state: &AppState,
    auth: Auth,
    req: &HttpRequest,
    of: Option<Id>,
    filter: PeopleFilter,
    query: &PeopleQuery,
) -> Result<HttpResponse, ApiError> {
    if wants_csv(req) {
        let rows = auth
            .read(&state.db, move |conn, caller| {
                let (vis, filter) = scoped(conn, caller, of.as_ref(), filter)?;
                repo::export(conn, &vis, &filter)
            })
            .await?;
        return csv_response("people", &CSV_HEADERS, rows.into_iter().map(csv_row));
    }
    let page = PageRequest::new(
        list_name(of.as_ref()),
        query.limit,
        query.cursor.as_deref(),
        2,
    )?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            let (vis, filter) = scoped(conn, caller, of.as_ref(), filter)?;
            repo::list(conn, &vis, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

fn filter_of(query: &PeopleQuery) -> Result<PeopleFilter, ApiError> {
    Ok(PeopleFilter {
        organisation_id: query.organisation_id.clone(),
        has_account: query.has_account,
        q: query.q.clone(),
    })
}

/// List people
///
/// Contacts, sorted by name: admins see everyone; partners' and observers' representatives see
/// the people of member organisations and their own; others only their own organisation's.
/// Send `Accept: text/csv` for a CSV export.
#[utoipa::path(
    tag = "people",
    params(PeopleQuery),
    security(("bearer" = []), ("api_token" = [Scope::PeopleRead])),
    responses(
        (status = 200, description = "A page of people, or with `Accept: text/csv` every match as CSV", content((Page<Person> = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/people")]
pub async fn list_people(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_of(&query)?;
    respond_list(&state, auth, &req, None, filter, &query).await
}

/// People of an organisation
#[utoipa::path(
    tag = "people",
    params(("id" = uuid::Uuid, Path, description = "Organisation id"), PeopleQuery),
    security(("bearer" = []), ("api_token" = [Scope::PeopleRead])),
    responses(
        (status = 200, description = "A page of people, or with `Accept: text/csv` every match as CSV", content((Page<Person> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such organisation, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}/people")]
pub async fn list_organisation_people(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let mut filter = filter_of(&query)?;
    filter.organisation_id = Some(id.clone());
    respond_list(&state, auth, &req, Some(id), filter, &query).await
}

/// Add a person
///
/// Admins, or representatives for their own organisation (the default `organisation_id` for them).
#[utoipa::path(
    tag = "people",
    request_body = CreatePerson,
    security(("bearer" = []), ("api_token" = [Scope::PeopleWrite])),
    responses(
        (status = 201, description = "Created", body = Person,
            headers(("Location" = String, description = "The new person"), ("ETag" = String, description = "Its version"))),
        (status = 409, description = "The e-mail address is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/people")]
pub async fn create_person(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreatePerson>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (id, at) = (Id::new(), crate::core::now().and_utc());
    let person = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::PeopleWrite)?;
            let org = match &body.organisation_id {
                Some(id) => Some(id.clone()),
                None => policy::default_organisation_of_new_person(caller)
                    .as_deref()
                    .map(Id::from_stored)
                    .transpose()?,
            };
            repo::create(conn, caller, body.into_record(id, org, at))
        })
        .await?;
    Ok(created(
        format!("/api/v1/people/{}", person.id),
        person.version,
        &person,
    ))
}

/// Get a person
#[utoipa::path(
    tag = "people",
    params(("id" = uuid::Uuid, Path, description = "Person id")),
    security(("bearer" = []), ("api_token" = [Scope::PeopleRead])),
    responses(
        (status = 200, description = "The person", body = Person, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such person, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people/{id}")]
pub async fn get_person(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let person = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::PeopleRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, person.version, &person))
}

/// Update a person
#[utoipa::path(
    tag = "people",
    params(("id" = uuid::Uuid, Path, description = "Person id")),
    request_body = UpdatePerson,
    security(("bearer" = []), ("api_token" = [Scope::PeopleWrite])),
    responses(
        (status = 200, description = "Updated", body = Person, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such person, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/people/{id}")]
pub async fn update_person(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdatePerson>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let person = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::PeopleWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, person.version, &person))
}

/// Remove a person
///
/// A person with a user account cannot be removed (deactivate the account instead).
#[utoipa::path(
    tag = "people",
    params(("id" = uuid::Uuid, Path, description = "Person id")),
    security(("bearer" = []), ("api_token" = [Scope::PeopleWrite])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such person, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person has a user account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/people/{id}")]
pub async fn delete_person(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::PeopleWrite)?;
        repo::delete(conn, caller, &id, &if_match)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_people)
        .service(list_organisation_people)
        .service(create_person)
        .service(get_person)
        .service(update_person)
        .service(delete_person);
}
