//! CSV exports of lists (`Accept: text/csv`), for the secretariat's reports.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;

/// True when the client asks for CSV rather than JSON.
pub fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|part| {
                part.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
            }) && !accept.contains("application/json")
        })
}

/// Writes rows as CSV with a header line; the response is offered as a download named `name`.
/// Cells that a spreadsheet would read as a formula are prefixed with `'`.
pub fn csv_response(
    name: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(headers)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    for row in rows {
        let row = row.into_iter().map(|cell| {
            if cell.starts_with(['=', '+', '-', '@']) {
                format!("'{cell}")
            } else {
                cell
            }
        });
        writer
            .write_record(row)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(bytes))
}
