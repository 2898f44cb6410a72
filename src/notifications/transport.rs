//! Delivery: SMTP through lettre (implicit TLS, STARTTLS, or plain to a local relay, with
//! authentication), or, with no SMTP configured, `.eml` files under `<data_dir>/mail/`.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

pub use crate::config::smtp::{Security, SmtpSettings};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};

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
    /// An iCalendar object (RFC 5546: METHOD:REQUEST or CANCEL) sent beside the text and HTML.
    pub calendar: Option<String>,
}

/// The message body: the text and HTML as alternatives, and with a calendar, the calendar as a
/// third alternative (`text/calendar; method=…`, which Outlook and Gmail turn into an invitation
/// with answer buttons) and again as an `invite.ics` attachment (for the clients that only place
/// attachments), the whole in a `multipart/mixed`.
pub fn body(m: &Outgoing) -> Result<MultiPart, String> {
    let Some(calendar) = &m.calendar else {
        return Ok(MultiPart::alternative_plain_html(
            m.text.clone(),
            m.html.clone(),
        ));
    };
    let method = calendar_method(calendar).unwrap_or("PUBLISH");
    let inline = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
        .map_err(|e| format!("calendar content type: {e}"))?;
    let attached = ContentType::parse("application/ics; name=\"invite.ics\"")
        .map_err(|e| format!("attachment content type: {e}"))?;
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(m.text.clone()))
        .singlepart(SinglePart::html(m.html.clone()))
        .singlepart(
            SinglePart::builder()
                .content_type(inline)
                .body(calendar.clone()),
        );
    Ok(MultiPart::mixed()
        .multipart(alternative)
        .singlepart(Attachment::new("invite.ics".to_owned()).body(calendar.clone(), attached)))
}

/// The METHOD of an iCalendar object (`REQUEST`, `CANCEL`, …), if it names a plain token.
pub fn calendar_method(calendar: &str) -> Option<&str> {
    calendar
        .lines()
        .find_map(|l| l.trim_end_matches('\r').strip_prefix("METHOD:"))
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
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

    /// Writes messages as `.eml` files under `dir`. A folder left by an older version is narrowed
    /// at once: to `0700`, and the messages in it to `0600`.
    pub fn files(dir: PathBuf) -> Self {
        if dir.exists() {
            let narrowed = crate::files::private_dir(&dir).and_then(|()| {
                for entry in std::fs::read_dir(&dir)? {
                    let path = entry?.path();
                    if path.is_file() {
                        crate::files::restrict(&path)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = narrowed {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot make the mail folder private");
            }
        }
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
            .multipart(body(m).map_err(SendError::Permanent)?)
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
                // Messages carry live links: the folder is 0700 and each file 0600 from the
                // moment it exists.
                crate::files::private_dir(dir).map_err(|e| {
                    SendError::Transient(format!("cannot create {}: {e}", dir.display()))
                })?;
                let path = dir.join(format!("{}.eml", m.id));
                let tmp = dir.join(format!(".{}.eml.tmp", m.id));
                crate::files::create_private(&tmp)
                    .and_then(|mut file| {
                        use std::io::Write;
                        file.write_all(&email.formatted())
                    })
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .map_err(|e| {
                        SendError::Transient(format!("cannot write {}: {e}", path.display()))
                    })
            }
        }
    }
}
