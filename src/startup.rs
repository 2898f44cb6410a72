//! Wiring: settings → pool and migrations → first admin → the HTTP app, bound and ready to run.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::AddressThrottle;
use crate::config::Settings;
use crate::core::background::Background;
use crate::db::{Db, build_pool, run_migrations};
use crate::error::ApiError;
use crate::http::conditional::conditional_get;
use crate::http::idempotency::{IdempotencyOwner, idempotency, purge_expired};
use crate::http::methods::{Routes, methods, not_routed};
use crate::http::observe::{Metrics, observe};
use crate::state::AppState;

/// A start-up failure, printed as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Connects to the database and runs pending migrations.
pub fn connect_database(settings: &Settings) -> Result<Db, StartupError> {
    let pool = build_pool(
        &settings.database_url,
        settings.backend,
        settings.db_pool_size,
    )
    .map_err(|e| {
        StartupError(format!(
            "cannot connect to the database at {}: {e}",
            settings.redacted_database_url()
        ))
    })?;
    let mut conn = pool
        .get()
        .map_err(|e| StartupError(format!("cannot get a database connection: {e}")))?;
    let ran = run_migrations(&mut conn).map_err(StartupError)?;
    if ran > 0 {
        tracing::info!(migrations = ran, "database migrated");
    }
    Ok(Db::new(pool))
}

/// The routes of the API, shared by the server and by the spec generator.
pub fn api_scope() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/api/v1")
        .wrap(from_fn(idempotency))
        .wrap(from_fn(conditional_get))
        .wrap(from_fn(crate::http::accept::negotiate))
        .configure(crate::accounts::routes::configure)
        .configure(crate::users::routes::configure)
        .configure(crate::organisations::routes::configure)
        .configure(crate::people::routes::configure)
        .configure(crate::drugs::routes::configure)
        // Allocations first: its `/agreements/usage` must not be taken for `/agreements/{id}`.
        .configure(crate::allocations::routes::configure)
        .configure(crate::agreements::routes::configure)
        .configure(crate::cohorts::routes::configure)
        .configure(crate::bodies::routes::configure)
        .configure(crate::decisions::routes::configure)
        // Proceedings first: their `/meetings/{id}/...` paths are literal beyond the meeting's.
        .configure(crate::meetings::proceedings::routes::configure)
        .configure(crate::meetings::routes::configure)
        .configure(crate::meetings::events::routes::configure)
        .configure(crate::calendar::routes::configure)
        .configure(crate::polls::routes::configure)
        .configure(crate::audit::routes::configure)
        .configure(crate::notifications::routes::configure)
        .configure(crate::webhooks::routes::configure)
        .configure(crate::invitations::routes::configure)
}

/// The OpenAPI document, as served at `/openapi.json` and committed in `openapi/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::openapi::finish(declared_openapi())
}

/// What the handlers' annotations declare, before [`crate::openapi::finish`] adds what every
/// operation shares (the tests check the handlers' own part against what they answer).
pub fn declared_openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(crate::openapi::base())
        .configure(crate::operational::configure)
        .service(api_scope())
        .split_for_parts();
    api
}

/// What start-up tells the operator: how to create the first admin when no account exists, and
/// that links in e-mail will name the bound address when the service listens beyond this machine
/// without `CONNECT_PUBLIC_URL`.
pub fn startup_notes(settings: &Settings, any_account: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if !any_account {
        notes.push(
            "no account exists yet: create the first admin with `connect admin create-user \
             --email <address>` (it reads the password from standard input), or start with \
             CONNECT_ADMIN_EMAIL and CONNECT_ADMIN_PASSWORD set"
                .to_owned(),
        );
    }
    if !settings.bind.ip().is_loopback()
        && settings.public_url == format!("http://{}", settings.bind)
    {
        notes.push(format!(
            "listening on {} without CONNECT_PUBLIC_URL: links in e-mail will start {}; set \
             CONNECT_PUBLIC_URL to the address users reach the service at",
            settings.bind, settings.public_url
        ));
    }
    notes
}

/// How long a stopping server waits for its in-flight requests.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 20;

/// How long, after the requests, the background loops get to finish and put back their claims.
pub const BACKGROUND_GRACE: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
    background: Background,
}

impl Application {
    /// Builds everything and binds the listener (port 0 picks a free port; [`Self::port`] tells it).
    pub async fn build(mut settings: Settings) -> Result<Self, StartupError> {
        // The data folder holds the database, the JWT secret and mail: its owner's only (one
        // made by an older version 0755 is narrowed; a new one is made 0700 where it is needed).
        if settings.data_dir.is_dir()
            && let Err(e) = crate::files::private_dir(&settings.data_dir)
        {
            tracing::warn!(error = %e, "cannot make the data folder private");
        }
        let secret = settings
            .resolve_jwt_secret()
            .map_err(|e| StartupError(e.to_string()))?;
        let db = {
            let s = settings.clone();
            web::block(move || connect_database(&s))
                .await
                .map_err(|e| StartupError(e.to_string()))??
        };
        let hasher = PasswordHasher::new(settings.hash_concurrency)
            .map_err(|e| StartupError(e.to_string()))?;
        if let (Some(email), Some(password)) = (
            settings.admin_email.clone(),
            settings.admin_password.clone(),
        ) {
            crate::users::service::ensure_first_admin(&db, &hasher, &email, password.expose())
                .await
                .map_err(|e| {
                    StartupError(format!("cannot create the first admin: {}", describe(&e)))
                })?;
        }
        match crate::users::service::any_account(&db).await {
            Ok(any) => {
                for note in startup_notes(&settings, any) {
                    tracing::warn!("{note}");
                }
            }
            Err(e) => tracing::warn!(error = %describe(&e), "cannot count the accounts"),
        }
        let metrics = Metrics::new().map_err(|e| StartupError(format!("metrics: {e}")))?;
        metrics.know_mail_kinds(
            crate::notifications::model::Kind::ALL
                .iter()
                .map(|k| k.as_str()),
        );
        let mailer = crate::notifications::Mailer::new(&settings.public_url, &settings.mail_from)
            .map_err(StartupError)?
            .with_link_key(secret.expose().as_bytes());
        let state = web::Data::new(AppState {
            jwt: web::Data::new(JwtKeys::new(&secret, settings.access_token_ttl_secs)),
            settings: Arc::new(settings.clone()),
            db,
            hasher,
            metrics: web::Data::new(metrics),
            address_throttle: AddressThrottle::default(),
            reset_throttle: AddressThrottle::default(),
            registration_throttle: AddressThrottle::default(),
            mail_wakeup: Arc::new(tokio::sync::Notify::new()),
        });
        let mailer = web::Data::new(mailer);
        let mut background = Background::default();
        if settings.mail_worker {
            crate::notifications::worker::spawn(
                &mut background,
                state.clone(),
                mailer.clone(),
                vec![
                    crate::allocations::digest::job,
                    crate::decisions::repo::job,
                    crate::meetings::reminders::job,
                    crate::meetings::proceedings::repo::job,
                ],
            )
            .map_err(|e| StartupError(format!("mail: {e}")))?;
        }
        if settings.webhook_worker {
            crate::webhooks::worker::spawn(&mut background, state.clone())
                .map_err(|e| StartupError(format!("webhooks: {e}")))?;
        }
        spawn_housekeeping(&mut background, state.clone());

        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| StartupError(format!("cannot listen on {}: {e}", settings.bind)))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?
            .port();
        let spec = openapi();
        let routes = web::Data::new(routes_of(&spec));
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(web::Data::new(state.db.clone()))
                .app_data(state.jwt.clone())
                .app_data(state.metrics.clone())
                .app_data(mailer.clone())
                .app_data(web::Data::new(IdempotencyOwner(
                    crate::auth::caller::idempotency_owner,
                )))
                .app_data(web::PathConfig::default().error_handler(crate::http::path_error))
                .configure(crate::operational::configure)
                .service(api_scope())
                .split_for_parts();
            app.app_data(routes.clone())
                .service(web::redirect("/docs", "/docs/"))
                .service(crate::pages::accept_invitation_page)
                .service(crate::pages::reset_password_page)
                .service(crate::pages::meeting_answer_page)
                .service(crate::pages::event_cancel_page)
                .service(crate::pages::poll_answer_page)
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec.clone()))
                // A path no route takes with this method: 405 with `Allow`, or 404.
                .default_service(web::to(not_routed))
                // Methods no resource takes answer 501 before routing; HEAD is served as GET.
                .wrap(from_fn(methods))
                // Nothing the service sends is to be sniffed into another type.
                .wrap(
                    DefaultHeaders::new()
                        .add((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
                )
                .wrap(Compress::default())
                .wrap(from_fn(observe))
        })
        .workers(settings.workers)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)
        .map_err(|e| StartupError(e.to_string()))?
        .run();
        Ok(Self {
            port,
            server,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (tests stop theirs when done).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT (or [`Self::handle`]'s stop), then finishes in-flight
    /// requests (up to [`SHUTDOWN_TIMEOUT_SECS`]), then stops the background loops (up to
    /// [`BACKGROUND_GRACE`]): the mail worker finishes what it is sending and puts back the rest.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.background.stop(BACKGROUND_GRACE).await;
        served
    }
}

/// Every path the service answers and the methods it takes there: the spec's operations, and
/// the pages and docs outside it.
fn routes_of(spec: &utoipa::openapi::OpenApi) -> Routes {
    let mut routes: Vec<(String, Vec<Method>)> = spec
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ]
            .into_iter()
            .filter_map(|(m, present)| present.then_some(m))
            .collect();
            (path.clone(), methods)
        })
        .collect();
    for page in [
        "/invitations/{token}",
        "/password-reset/{token}",
        "/openapi.json",
        "/docs/{_:.*}",
    ] {
        routes.push((page.to_owned(), vec![Method::GET]));
    }
    Routes::new(routes)
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|f| format!("{} {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Periodic clean-up: expired idempotency keys.
fn spawn_housekeeping(background: &mut Background, state: web::Data<AppState>) {
    background.spawn("housekeeping", move |mut stopping| async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopping.wait() => return,
            }
            match state.db.write(purge_expired).await {
                Ok(n) if n > 0 => tracing::debug!(purged = n, "expired idempotency keys removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        match Settings::from_sources(&env) {
            Ok(s) => s,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn start_up_says_how_to_make_the_first_admin_and_warns_of_links_to_0_0_0_0() {
        let local = settings(&[]);
        assert!(startup_notes(&local, true).is_empty());
        let notes = startup_notes(&local, false);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("connect admin create-user"));
        assert!(notes[0].contains("CONNECT_ADMIN_EMAIL"));
        let open = settings(&[("CONNECT_BIND", "0.0.0.0:8080")]);
        let notes = startup_notes(&open, true);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("CONNECT_PUBLIC_URL"));
        assert!(notes[0].contains("http://0.0.0.0:8080"));
        let named = settings(&[
            ("CONNECT_BIND", "0.0.0.0:8080"),
            ("CONNECT_PUBLIC_URL", "https://connect.example.org"),
        ]);
        assert!(startup_notes(&named, true).is_empty());
    }
}
