//! `/api/v1/bodies` and `/api/v1/people/{id}/bodies`.

pub fn configure(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
