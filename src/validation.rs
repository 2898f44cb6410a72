//! Field validation shared by every module: a collector that gathers all field errors of a request
//! so the client sees every problem at once, plus the checks the domain needs (e-mail, URL,
//! Norwegian organisation number, header-safe text).

use crate::error::{ApiError, FieldError};

/// What [`Validator::optional_text`] refuses, as the spec's `pattern` of a bounded text field
/// (`openapi::finish` puts it on every string with a `maxLength` and no `pattern` or `format`):
/// control characters (line breaks included) and text-direction overrides.
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$";

/// What [`Validator::text`] refuses, as the `pattern` of a required text field (one with
/// `minLength` 1): as [`TEXT_PATTERN`], and at least one visible character (see [`is_invisible`]).
pub const VISIBLE_TEXT_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$";

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// Required text: trimmed, not empty, at most `max` characters, no control characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "required", "must not be empty");
        } else if v.chars().all(is_invisible) {
            self.add(field, "required", "must contain a visible character");
        } else {
            self.optional_text(field, Some(v), max);
        }
    }

    /// Optional text: when present, at most `max` characters and no control characters
    /// (a CR or LF in a name could otherwise end up in an e-mail header).
    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            if v.chars().count() > max {
                self.add(
                    field,
                    "too_long",
                    format!("must be at most {max} characters"),
                );
            }
            if v.chars().any(|c| c.is_control() || is_bidi_control(c)) {
                self.add(
                    field,
                    "invalid_characters",
                    "must not contain control characters, line breaks or text-direction overrides",
                );
            }
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        if !is_email(value) {
            self.add(
                field,
                "invalid_format",
                "must be an e-mail address such as name@example.org",
            );
        }
    }

    pub fn url(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            let ok = (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() <= 2048
                && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                && v.split("://")
                    .nth(1)
                    .is_some_and(|rest| rest.split('/').next().is_some_and(|h| h.contains('.')));
            if !ok {
                self.add(
                    field,
                    "invalid_format",
                    "must be an http(s) URL such as https://example.org",
                );
            }
        }
    }

    pub fn check(&mut self, ok: bool, field: &str, code: &str, message: impl Into<String>) {
        if !ok {
            self.add(field, code, message);
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A deliberately plain e-mail check: one `@`, a non-empty local part, a dotted domain, no spaces
/// or control characters, at most 254 characters.
/// Unicode's explicit text-direction embeddings, overrides and isolates (U+202A-U+202E,
/// U+2066-U+2069): they make a name display as something else ("Trojan Source").
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: white space, zero-width spaces and joiners, the soft hyphen, the
/// byte-order mark, and the direction controls. A name made only of these looks empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}'
                | '\u{180E}' | '\u{3164}' | '\u{115F}' | '\u{1160}'
        )
}

pub fn is_email(v: &str) -> bool {
    if v.len() > 254 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// Normalises an e-mail address for storage and comparison.
pub fn normalise_email(v: &str) -> String {
    v.trim().to_lowercase()
}

/// A Norwegian organisation number: nine digits, the last a mod-11 check digit with weights
/// 3, 2, 7, 6, 5, 4, 3, 2. Returns the problem code when invalid.
pub fn check_org_number(v: &str) -> Result<(), (&'static str, &'static str)> {
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    if v.len() != 9 || digits.len() != 9 {
        return Err(("invalid_format", "must be exactly nine digits"));
    }
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let check = match 11 - (sum % 11) {
        11 => 0,
        10 => {
            return Err((
                "invalid_check_digit",
                "is not a valid organisation number (no check digit exists for it)",
            ));
        }
        c => c,
    };
    if digits[8] == check {
        Ok(())
    } else {
        Err((
            "invalid_check_digit",
            "the last digit does not match the mod-11 check digit",
        ))
    }
}

/// ISO 3166-1 alpha-2: two upper-case ASCII letters.
pub fn is_country_code(v: &str) -> bool {
    v.len() == 2 && v.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_numbers() {
        assert!(check_org_number("974760673").is_ok()); // Brønnøysundregistrene
        assert_eq!(
            check_org_number("974760674").unwrap_err().0,
            "invalid_check_digit"
        );
        assert_eq!(
            check_org_number("97476067").unwrap_err().0,
            "invalid_format"
        );
        assert_eq!(
            check_org_number("97476067a").unwrap_err().0,
            "invalid_format"
        );
        assert_eq!(
            check_org_number("９７４７６０６７３").unwrap_err().0,
            "invalid_format"
        );
    }

    #[test]
    fn emails() {
        assert!(is_email("kari.nordmann@oslocancercluster.no"));
        assert!(!is_email("kari@"));
        assert!(!is_email("kari@host"));
        assert!(!is_email("ka ri@host.no"));
        assert!(!is_email("kari@host.no\r\nBcc: x@y.z"));
    }

    #[test]
    fn text_rejects_line_breaks_and_collects_every_error() {
        let mut v = Validator::new();
        v.text("name", "Roche\r\nBcc: x", 100);
        v.text("short_name", "   ", 10);
        v.url("website", Some("ftp://x"));
        let ApiError::Validation(errors) = v.finish().unwrap_err() else {
            panic!()
        };
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn names_cannot_hide_behind_direction_overrides_or_invisible_characters() {
        let codes = |value: &str| {
            let mut v = Validator::new();
            v.text("name", value, 100);
            match v.finish() {
                Ok(()) => Vec::new(),
                Err(ApiError::Validation(e)) => e.into_iter().map(|f| f.code).collect(),
                Err(other) => panic!("{other:?}"),
            }
        };
        assert_eq!(codes("Roche\u{202E}SA ehcoR"), ["invalid_characters"]);
        assert_eq!(codes("\u{2066}Roche"), ["invalid_characters"]);
        assert_eq!(codes("\u{200B}\u{200B}\u{200B}"), ["required"]);
        assert_eq!(codes("\u{FEFF} \u{00AD}"), ["required"]);
        assert!(codes("Sør-Øst Helse\u{00AD}foretak").is_empty());
        assert!(codes("فاطمة\u{200C}زهرا").is_empty());
    }
}
