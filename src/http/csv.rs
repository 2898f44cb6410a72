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

/// A time as the JSON answers write it (RFC 3339 in UTC with `Z`, as serde writes chrono's
/// times), so a CSV export and the JSON of the same record agree.
pub fn csv_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Writes rows as CSV with a header line; the response is offered as a download named `name`.
///
/// Against formula injection (OWASP's CSV-injection advice): every cell is quoted, so a
/// spreadsheet that splits on `;` (Excel in a Norwegian locale) cannot cut a cell into one that
/// starts a formula, and a cell that starts like a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return) gets a leading `'`, unless it is a plain number such as a phone number (`+47 22 00 00
/// 00`), which cannot call anything and is kept as it is.
pub fn csv_response(
    name: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<HttpResponse, ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    writer
        .write_record(headers)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    for row in rows {
        let row = row.into_iter().map(neutralise);
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

/// A cell made safe to open in a spreadsheet (see [`csv_response`]).
pub fn neutralise(cell: String) -> String {
    let starts_like_formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let plain_number = cell
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        && cell.chars().any(|c| c.is_ascii_digit());
    if starts_like_formula && !plain_number {
        format!("'{cell}")
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::{csv_time, neutralise};

    #[test]
    fn times_are_written_as_the_json_writes_them() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:05:00.123456+00:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(csv_time(&t), serde_json::to_value(t).unwrap());
        assert_eq!(csv_time(&t), "2026-11-23T10:05:00.123456Z");
    }

    #[test]
    fn formulas_are_neutralised_and_phone_numbers_kept() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("\t=1", "'\t=1"),
            ("+47 22 00 00 00", "+47 22 00 00 00"),
            ("+47 (0) 900-00-000", "+47 (0) 900-00-000"),
            ("-", "'-"),
            ("Roche; =1+1", "Roche; =1+1"),
            ("Plain", "Plain"),
        ] {
            assert_eq!(neutralise(cell.to_owned()), safe, "{cell}");
        }
    }
}
