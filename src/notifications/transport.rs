//! Delivery: SMTP through lettre (implicit TLS, STARTTLS, or plain to a local relay, with
//! authentication), or, with no SMTP configured, `.eml` files under `<data_dir>/mail/`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};

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

/// One message ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: String,
    pub to_email: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
}

/// Why a send failed: transient failures are retried, permanent ones are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Transient(String),
    Permanent(String),
}

pub enum Transport {
    Smtp(Box<SmtpTransport>),
    Files(PathBuf),
}

impl Transport {
    /// An SMTP transport keeping up to `connections` connections open (one per message in flight).
    pub fn smtp(settings: &SmtpSettings, connections: u32) -> Result<Self, String> {
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS set-up: {e}"))
        };
        let builder = match settings.security {
            Security::Implicit => SmtpTransport::builder_dangerous(&settings.host)
                .tls(Tls::Wrapper(tls(&settings.host)?)),
            Security::StartTls => SmtpTransport::builder_dangerous(&settings.host)
                .tls(Tls::Required(tls(&settings.host)?)),
            Security::Opportunistic => SmtpTransport::builder_dangerous(&settings.host)
                .tls(Tls::Opportunistic(tls(&settings.host)?)),
            Security::None => SmtpTransport::builder_dangerous(&settings.host).tls(Tls::None),
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(20)))
            .pool_config(PoolConfig::new().max_size(connections.max(1)));
        if let Some((user, pass)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self::Smtp(Box::new(builder.build())))
    }

    pub fn files(dir: PathBuf) -> Self {
        Self::Files(dir)
    }

    /// Sends one message (blocking: call from the blocking pool).
    pub fn send(&self, from: &Mailbox, m: &Outgoing) -> Result<(), SendError> {
        let to_address = m
            .to_email
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let to = Mailbox::new(m.to_name.clone(), to_address);
        let email = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject.clone())
            .message_id(Some(m.message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                m.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self {
            Transport::Smtp(smtp) => smtp.send(&email).map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
            Transport::Files(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    SendError::Transient(format!("cannot create {}: {e}", dir.display()))
                })?;
                let path = dir.join(format!("{}.eml", m.id));
                let tmp = dir.join(format!(".{}.eml.tmp", m.id));
                std::fs::write(&tmp, email.formatted())
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .map_err(|e| {
                        SendError::Transient(format!("cannot write {}: {e}", path.display()))
                    })
            }
        }
    }
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
