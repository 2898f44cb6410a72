//! `/api/v1/decisions`.

pub fn configure(_cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {}
