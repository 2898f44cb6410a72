//! Public requests through the signed links e-mailed to people who may have no account
//! (answering a meeting invitation or a scheduling poll, reading or cancelling an event
//! registration): the link's token is the credential. One way for all of them: the caller's
//! address is throttled, a refused link (404) counts against it (429 after too many), and the
//! answer is never cached.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::Mailer;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::client_ip::client_ip;
use crate::state::AppState;

/// What a link request does with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads what the link is for.
    Read,
    /// Changes it (and may queue e-mail: the mail worker is woken after).
    Write,
}

/// Runs `work` for a request through a signed link and answers 200 with its result.
pub async fn through_link<T, F>(
    state: &AppState,
    mailer: &web::Data<Mailer>,
    req: &HttpRequest,
    access: Access,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConn, &Mailer) -> Result<T, ApiError> + Send + 'static,
{
    let ip = client_ip(req, state.settings.trusted_proxy_hops);
    state.address_throttle.check(ip)?;
    let mailer = mailer.clone();
    let run = move |conn: &mut DbConn| work(conn, &mailer);
    let done = match access {
        Access::Read => state.db.read(run).await,
        Access::Write => state.db.write(run).await,
    }
    .map_err(|e| state.address_throttle.count_bad_link(ip, e))?;
    if access == Access::Write {
        state.wake_mailer();
    }
    Ok(HttpResponse::Ok()
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .json(done))
}
