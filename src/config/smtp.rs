//! `CONNECT_SMTP_URL`: how to reach the SMTP server, parsed and checked with the rest of the
//! configuration.

/// How to reach the SMTP server, from `CONNECT_SMTP_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://…?tls=starttls` (or `required`): upgrade with STARTTLS, refuse without it.
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtp://` with no `tls`: plain, for a relay on the same host or network.
    None,
}

impl SmtpSettings {
    /// Parses `smtps://user:pass@host:465`, `smtp://host:587?tls=starttls`, `smtp://localhost:25`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw)
            .map_err(|_| "not a URL such as smtps://user:pass@host:465".to_owned())?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::Implicit,
            ("smtp", Some("starttls" | "required")) => Security::StartTls,
            ("smtp", Some("opportunistic")) => Security::Opportunistic,
            ("smtp", None | Some("none")) => Security::None,
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "tls={other} is not one of starttls, required, opportunistic, none"
                ));
            }
            (scheme, _) => return Err(format!("the scheme must be smtp or smtps, not {scheme}")),
        };
        let port = url.port().unwrap_or(match security {
            Security::Implicit => 465,
            Security::StartTls | Security::Opportunistic => 587,
            Security::None => 25,
        });
        let decode = |s: &str| percent_decode(s);
        let credentials = (!url.username().is_empty())
            .then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
        Ok(Self {
            host,
            port,
            security,
            credentials,
        })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let s = SmtpSettings::parse("smtps://mailer:p%40ss@smtp.example.org:465").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("smtp.example.org", 465, Security::Implicit)
        );
        assert_eq!(s.credentials, Some(("mailer".into(), "p@ss".into())));
        let s = SmtpSettings::parse("smtp://smtp.example.org?tls=starttls").unwrap();
        assert_eq!(
            (s.port, s.security, s.credentials),
            (587, Security::StartTls, None)
        );
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.port, s.security), (2525, Security::None));
        assert!(SmtpSettings::parse("http://x").is_err());
        assert!(SmtpSettings::parse("smtp://x?tls=maybe").is_err());
        assert!(SmtpSettings::parse("not a url").is_err());
    }
}
