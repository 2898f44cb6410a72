//! E-mail templates: one subject, plain-text and HTML template per kind and language, in files
//! under `src/notifications/templates/` (embedded in the binary). Every template is compiled and
//! rendered with sample values at start-up, so a broken template stops start-up instead of a send.
//! HTML templates escape every value; text templates and subjects do not need to.

use lettre::message::Mailbox;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Value, json};

use super::model::{Kind, Language};
use crate::auth::Role;
use crate::core::MembershipStatus;
use crate::error::ApiError;

/// Every template file, embedded at build time and checked at start-up.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "agreement_status_changed.en.html",
        include_str!("templates/agreement_status_changed.en.html"),
    ),
    (
        "agreement_status_changed.en.subject.txt",
        include_str!("templates/agreement_status_changed.en.subject.txt"),
    ),
    (
        "agreement_status_changed.en.txt",
        include_str!("templates/agreement_status_changed.en.txt"),
    ),
    (
        "agreement_status_changed.nb.html",
        include_str!("templates/agreement_status_changed.nb.html"),
    ),
    (
        "agreement_status_changed.nb.subject.txt",
        include_str!("templates/agreement_status_changed.nb.subject.txt"),
    ),
    (
        "agreement_status_changed.nb.txt",
        include_str!("templates/agreement_status_changed.nb.txt"),
    ),
    (
        "cap_threshold.en.html",
        include_str!("templates/cap_threshold.en.html"),
    ),
    (
        "cap_threshold.en.subject.txt",
        include_str!("templates/cap_threshold.en.subject.txt"),
    ),
    (
        "cap_threshold.en.txt",
        include_str!("templates/cap_threshold.en.txt"),
    ),
    (
        "cap_threshold.nb.html",
        include_str!("templates/cap_threshold.nb.html"),
    ),
    (
        "cap_threshold.nb.subject.txt",
        include_str!("templates/cap_threshold.nb.subject.txt"),
    ),
    (
        "cap_threshold.nb.txt",
        include_str!("templates/cap_threshold.nb.txt"),
    ),
    (
        "cohort_stage_changed.en.html",
        include_str!("templates/cohort_stage_changed.en.html"),
    ),
    (
        "cohort_stage_changed.en.subject.txt",
        include_str!("templates/cohort_stage_changed.en.subject.txt"),
    ),
    (
        "cohort_stage_changed.en.txt",
        include_str!("templates/cohort_stage_changed.en.txt"),
    ),
    (
        "cohort_stage_changed.nb.html",
        include_str!("templates/cohort_stage_changed.nb.html"),
    ),
    (
        "cohort_stage_changed.nb.subject.txt",
        include_str!("templates/cohort_stage_changed.nb.subject.txt"),
    ),
    (
        "cohort_stage_changed.nb.txt",
        include_str!("templates/cohort_stage_changed.nb.txt"),
    ),
    (
        "evaluations_due.en.html",
        include_str!("templates/evaluations_due.en.html"),
    ),
    (
        "evaluations_due.en.subject.txt",
        include_str!("templates/evaluations_due.en.subject.txt"),
    ),
    (
        "evaluations_due.en.txt",
        include_str!("templates/evaluations_due.en.txt"),
    ),
    (
        "evaluations_due.nb.html",
        include_str!("templates/evaluations_due.nb.html"),
    ),
    (
        "evaluations_due.nb.subject.txt",
        include_str!("templates/evaluations_due.nb.subject.txt"),
    ),
    (
        "evaluations_due.nb.txt",
        include_str!("templates/evaluations_due.nb.txt"),
    ),
    (
        "api_token_created.en.html",
        include_str!("templates/api_token_created.en.html"),
    ),
    (
        "api_token_created.en.subject.txt",
        include_str!("templates/api_token_created.en.subject.txt"),
    ),
    (
        "api_token_created.en.txt",
        include_str!("templates/api_token_created.en.txt"),
    ),
    (
        "api_token_created.nb.html",
        include_str!("templates/api_token_created.nb.html"),
    ),
    (
        "api_token_created.nb.subject.txt",
        include_str!("templates/api_token_created.nb.subject.txt"),
    ),
    (
        "api_token_created.nb.txt",
        include_str!("templates/api_token_created.nb.txt"),
    ),
    (
        "invitation.en.html",
        include_str!("templates/invitation.en.html"),
    ),
    (
        "invitation.en.subject.txt",
        include_str!("templates/invitation.en.subject.txt"),
    ),
    (
        "invitation.en.txt",
        include_str!("templates/invitation.en.txt"),
    ),
    (
        "invitation.nb.html",
        include_str!("templates/invitation.nb.html"),
    ),
    (
        "invitation.nb.subject.txt",
        include_str!("templates/invitation.nb.subject.txt"),
    ),
    (
        "invitation.nb.txt",
        include_str!("templates/invitation.nb.txt"),
    ),
    ("layout.html", include_str!("templates/layout.html")),
    (
        "membership_changed.en.html",
        include_str!("templates/membership_changed.en.html"),
    ),
    (
        "membership_changed.en.subject.txt",
        include_str!("templates/membership_changed.en.subject.txt"),
    ),
    (
        "membership_changed.en.txt",
        include_str!("templates/membership_changed.en.txt"),
    ),
    (
        "membership_changed.nb.html",
        include_str!("templates/membership_changed.nb.html"),
    ),
    (
        "membership_changed.nb.subject.txt",
        include_str!("templates/membership_changed.nb.subject.txt"),
    ),
    (
        "membership_changed.nb.txt",
        include_str!("templates/membership_changed.nb.txt"),
    ),
    (
        "password_changed.en.html",
        include_str!("templates/password_changed.en.html"),
    ),
    (
        "password_changed.en.subject.txt",
        include_str!("templates/password_changed.en.subject.txt"),
    ),
    (
        "password_changed.en.txt",
        include_str!("templates/password_changed.en.txt"),
    ),
    (
        "password_changed.nb.html",
        include_str!("templates/password_changed.nb.html"),
    ),
    (
        "password_changed.nb.subject.txt",
        include_str!("templates/password_changed.nb.subject.txt"),
    ),
    (
        "password_changed.nb.txt",
        include_str!("templates/password_changed.nb.txt"),
    ),
    (
        "password_reset.en.html",
        include_str!("templates/password_reset.en.html"),
    ),
    (
        "password_reset.en.subject.txt",
        include_str!("templates/password_reset.en.subject.txt"),
    ),
    (
        "password_reset.en.txt",
        include_str!("templates/password_reset.en.txt"),
    ),
    (
        "password_reset.nb.html",
        include_str!("templates/password_reset.nb.html"),
    ),
    (
        "password_reset.nb.subject.txt",
        include_str!("templates/password_reset.nb.subject.txt"),
    ),
    (
        "password_reset.nb.txt",
        include_str!("templates/password_reset.nb.txt"),
    ),
    (
        "role_changed.en.html",
        include_str!("templates/role_changed.en.html"),
    ),
    (
        "role_changed.en.subject.txt",
        include_str!("templates/role_changed.en.subject.txt"),
    ),
    (
        "role_changed.en.txt",
        include_str!("templates/role_changed.en.txt"),
    ),
    (
        "role_changed.nb.html",
        include_str!("templates/role_changed.nb.html"),
    ),
    (
        "role_changed.nb.subject.txt",
        include_str!("templates/role_changed.nb.subject.txt"),
    ),
    (
        "role_changed.nb.txt",
        include_str!("templates/role_changed.nb.txt"),
    ),
    (
        "vote_opened.en.html",
        include_str!("templates/vote_opened.en.html"),
    ),
    (
        "vote_opened.en.subject.txt",
        include_str!("templates/vote_opened.en.subject.txt"),
    ),
    (
        "vote_opened.en.txt",
        include_str!("templates/vote_opened.en.txt"),
    ),
    (
        "vote_opened.nb.html",
        include_str!("templates/vote_opened.nb.html"),
    ),
    (
        "vote_opened.nb.subject.txt",
        include_str!("templates/vote_opened.nb.subject.txt"),
    ),
    (
        "vote_opened.nb.txt",
        include_str!("templates/vote_opened.nb.txt"),
    ),
    (
        "vote_reminder.en.html",
        include_str!("templates/vote_reminder.en.html"),
    ),
    (
        "vote_reminder.en.subject.txt",
        include_str!("templates/vote_reminder.en.subject.txt"),
    ),
    (
        "vote_reminder.en.txt",
        include_str!("templates/vote_reminder.en.txt"),
    ),
    (
        "vote_reminder.nb.html",
        include_str!("templates/vote_reminder.nb.html"),
    ),
    (
        "vote_reminder.nb.subject.txt",
        include_str!("templates/vote_reminder.nb.subject.txt"),
    ),
    (
        "vote_reminder.nb.txt",
        include_str!("templates/vote_reminder.nb.txt"),
    ),
    (
        "vote_result.en.html",
        include_str!("templates/vote_result.en.html"),
    ),
    (
        "vote_result.en.subject.txt",
        include_str!("templates/vote_result.en.subject.txt"),
    ),
    (
        "vote_result.en.txt",
        include_str!("templates/vote_result.en.txt"),
    ),
    (
        "vote_result.nb.html",
        include_str!("templates/vote_result.nb.html"),
    ),
    (
        "vote_result.nb.subject.txt",
        include_str!("templates/vote_result.nb.subject.txt"),
    ),
    (
        "vote_result.nb.txt",
        include_str!("templates/vote_result.nb.txt"),
    ),
    (
        "action_item_due.en.html",
        include_str!("templates/action_item_due.en.html"),
    ),
    (
        "action_item_due.en.subject.txt",
        include_str!("templates/action_item_due.en.subject.txt"),
    ),
    (
        "action_item_due.en.txt",
        include_str!("templates/action_item_due.en.txt"),
    ),
    (
        "action_item_due.nb.html",
        include_str!("templates/action_item_due.nb.html"),
    ),
    (
        "action_item_due.nb.subject.txt",
        include_str!("templates/action_item_due.nb.subject.txt"),
    ),
    (
        "action_item_due.nb.txt",
        include_str!("templates/action_item_due.nb.txt"),
    ),
    (
        "event_registration.en.html",
        include_str!("templates/event_registration.en.html"),
    ),
    (
        "event_registration.en.subject.txt",
        include_str!("templates/event_registration.en.subject.txt"),
    ),
    (
        "event_registration.en.txt",
        include_str!("templates/event_registration.en.txt"),
    ),
    (
        "event_registration.nb.html",
        include_str!("templates/event_registration.nb.html"),
    ),
    (
        "event_registration.nb.subject.txt",
        include_str!("templates/event_registration.nb.subject.txt"),
    ),
    (
        "event_registration.nb.txt",
        include_str!("templates/event_registration.nb.txt"),
    ),
    (
        "meeting_cancelled.en.html",
        include_str!("templates/meeting_cancelled.en.html"),
    ),
    (
        "meeting_cancelled.en.subject.txt",
        include_str!("templates/meeting_cancelled.en.subject.txt"),
    ),
    (
        "meeting_cancelled.en.txt",
        include_str!("templates/meeting_cancelled.en.txt"),
    ),
    (
        "meeting_cancelled.nb.html",
        include_str!("templates/meeting_cancelled.nb.html"),
    ),
    (
        "meeting_cancelled.nb.subject.txt",
        include_str!("templates/meeting_cancelled.nb.subject.txt"),
    ),
    (
        "meeting_cancelled.nb.txt",
        include_str!("templates/meeting_cancelled.nb.txt"),
    ),
    (
        "meeting_invitation.en.html",
        include_str!("templates/meeting_invitation.en.html"),
    ),
    (
        "meeting_invitation.en.subject.txt",
        include_str!("templates/meeting_invitation.en.subject.txt"),
    ),
    (
        "meeting_invitation.en.txt",
        include_str!("templates/meeting_invitation.en.txt"),
    ),
    (
        "meeting_invitation.nb.html",
        include_str!("templates/meeting_invitation.nb.html"),
    ),
    (
        "meeting_invitation.nb.subject.txt",
        include_str!("templates/meeting_invitation.nb.subject.txt"),
    ),
    (
        "meeting_invitation.nb.txt",
        include_str!("templates/meeting_invitation.nb.txt"),
    ),
    (
        "meeting_reminder.en.html",
        include_str!("templates/meeting_reminder.en.html"),
    ),
    (
        "meeting_reminder.en.subject.txt",
        include_str!("templates/meeting_reminder.en.subject.txt"),
    ),
    (
        "meeting_reminder.en.txt",
        include_str!("templates/meeting_reminder.en.txt"),
    ),
    (
        "meeting_reminder.nb.html",
        include_str!("templates/meeting_reminder.nb.html"),
    ),
    (
        "meeting_reminder.nb.subject.txt",
        include_str!("templates/meeting_reminder.nb.subject.txt"),
    ),
    (
        "meeting_reminder.nb.txt",
        include_str!("templates/meeting_reminder.nb.txt"),
    ),
    (
        "meeting_updated.en.html",
        include_str!("templates/meeting_updated.en.html"),
    ),
    (
        "meeting_updated.en.subject.txt",
        include_str!("templates/meeting_updated.en.subject.txt"),
    ),
    (
        "meeting_updated.en.txt",
        include_str!("templates/meeting_updated.en.txt"),
    ),
    (
        "meeting_updated.nb.html",
        include_str!("templates/meeting_updated.nb.html"),
    ),
    (
        "meeting_updated.nb.subject.txt",
        include_str!("templates/meeting_updated.nb.subject.txt"),
    ),
    (
        "meeting_updated.nb.txt",
        include_str!("templates/meeting_updated.nb.txt"),
    ),
    (
        "poll_invitation.en.html",
        include_str!("templates/poll_invitation.en.html"),
    ),
    (
        "poll_invitation.en.subject.txt",
        include_str!("templates/poll_invitation.en.subject.txt"),
    ),
    (
        "poll_invitation.en.txt",
        include_str!("templates/poll_invitation.en.txt"),
    ),
    (
        "poll_invitation.nb.html",
        include_str!("templates/poll_invitation.nb.html"),
    ),
    (
        "poll_invitation.nb.subject.txt",
        include_str!("templates/poll_invitation.nb.subject.txt"),
    ),
    (
        "poll_invitation.nb.txt",
        include_str!("templates/poll_invitation.nb.txt"),
    ),
];

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders messages and knows how to address them.
pub struct Mailer {
    env: Environment<'static>,
    pub from: Mailbox,
    pub public_url: String,
    host: String,
    /// The key of signed links (HMAC-SHA256): derived from the JWT secret at start-up, so every
    /// instance accepts the links of the others; random until then.
    link_key: Vec<u8>,
}

impl Mailer {
    /// Compiles every template and renders each with sample values; any error stops start-up.
    pub fn new(public_url: &str, from: &str) -> Result<Self, String> {
        Self::with_templates(public_url, from, TEMPLATES)
    }

    /// [`Mailer::new`] with another set of templates (the check at start-up, tested).
    pub fn with_templates(
        public_url: &str,
        from: &str,
        templates: &'static [(&'static str, &'static str)],
    ) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("CONNECT_MAIL_FROM: {e}"))?;
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in templates {
            env.add_template(name, source)
                .map_err(|e| format!("mail template {name}: {e}"))?;
        }
        let host = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        let mailer = Self {
            env,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            host,
            link_key: {
                use rand::Rng;
                let mut key = vec![0u8; 32];
                rand::rng().fill(&mut key[..]);
                key
            },
        };
        for kind in Kind::TEMPLATED {
            for &lang in Language::ALL {
                mailer.render(kind, lang, &sample(kind)).map_err(|e| {
                    format!(
                        "mail template {}.{}: {}",
                        kind.as_str(),
                        lang.as_str(),
                        describe(&e)
                    )
                })?;
            }
        }
        Ok(mailer)
    }

    /// Renders the subject, text and HTML of a message.
    pub fn render(&self, kind: Kind, lang: Language, values: &Value) -> Result<Rendered, ApiError> {
        let mut ctx = values.clone();
        let map = ctx
            .as_object_mut()
            .ok_or_else(|| ApiError::internal("template values must be an object"))?;
        map.insert("lang".into(), json!(lang.as_str()));
        map.insert("public_url".into(), json!(self.public_url));
        // A subject is one line: whatever a value held, no line break reaches the header.
        let subject = self
            .part(kind, lang, "subject.txt", &ctx)?
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(map) = ctx.as_object_mut() {
            map.insert("subject".into(), json!(subject));
        }
        let text = self.part(kind, lang, "txt", &ctx)?;
        let html = self.part(kind, lang, "html", &ctx)?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }

    fn part(
        &self,
        kind: Kind,
        lang: Language,
        suffix: &str,
        ctx: &Value,
    ) -> Result<String, ApiError> {
        let name = format!("{}.{}.{suffix}", kind.as_str(), lang.as_str());
        self.env
            .get_template(&name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| ApiError::internal(format!("{name}: {e:#}")))
    }

    /// A stable `Message-ID` for a notification.
    pub fn message_id(&self, notification_id: &str) -> String {
        format!("<{notification_id}@{}>", self.host)
    }

    /// Keys signed links with `secret` (the JWT secret): the key is HMAC-SHA256(secret, a label of
    /// its own), so a link's signature is never one of an access token.
    pub fn with_link_key(mut self, secret: &[u8]) -> Self {
        self.link_key = hmac_sha256(secret, b"connect signed links v1");
        self
    }

    /// A token carrying `payload` (visible, not secret) for `purpose`, signed:
    /// `base64url(payload).base64url(HMAC-SHA256(key, purpose NUL payload))`.
    pub fn sign_link(&self, purpose: &str, payload: &str) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mac = hmac_sha256(&self.link_key, format!("{purpose}\0{payload}").as_bytes());
        format!("{}.{}", b64.encode(payload), b64.encode(mac))
    }

    /// The payload of a token [`Mailer::sign_link`] made for `purpose` (`None`: forged, damaged,
    /// or made for another purpose). The signature is compared in constant time.
    pub fn open_link(&self, purpose: &str, token: &str) -> Option<String> {
        use base64::Engine as _;
        use hmac::Mac as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, mac) = token.split_once('.')?;
        let payload = String::from_utf8(b64.decode(payload).ok()?).ok()?;
        let mac = b64.decode(mac).ok()?;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.link_key).ok()?;
        m.update(format!("{purpose}\0{payload}").as_bytes());
        m.verify_slice(&mac).ok()?;
        Some(payload)
    }

    /// A token naming `fields` for `purpose` until `expires_at`: [`Mailer::sign_link`] over
    /// `field|field|…|expiry` (unix seconds). The fields must not contain `|`.
    pub fn sign_expiring(
        &self,
        purpose: &str,
        fields: &[&str],
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let mut payload = fields.join("|");
        payload.push('|');
        payload.push_str(&expires_at.timestamp().to_string());
        self.sign_link(purpose, &payload)
    }

    /// The fields of a token [`Mailer::sign_expiring`] made for `purpose`, if it is genuine and
    /// has not expired (`None` otherwise: a link past its time reads as one never made).
    pub fn open_expiring(&self, purpose: &str, token: &str) -> Option<Vec<String>> {
        let payload = self.open_link(purpose, token)?;
        let (fields, expiry) = payload.rsplit_once('|')?;
        let expiry: i64 = expiry.parse().ok()?;
        (expiry >= chrono::Utc::now().timestamp())
            .then(|| fields.split('|').map(str::to_owned).collect())
    }

    /// A link into the service's public URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::Mac as _;
    match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes a key of any length.
        Err(_) => Vec::new(),
    }
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Internal(cause) => cause.clone(),
        other => other.to_string(),
    }
}

/// Sample values for each kind: the context every template of that kind may rely on.
pub fn sample(kind: Kind) -> Value {
    match kind {
        Kind::Invitation => json!({
            "name": "Kari Nordmann", "inviter": "OCC secretariat", "role": "partner representative",
            "organisation": "Roche Norge AS", "link": "https://connect.example/invitations/accept?token=x",
            "expires_on": "2026-11-30",
        }),
        Kind::PasswordReset => {
            json!({"name": "Kari Nordmann", "link": "https://connect.example/password-reset?token=x", "minutes": 60})
        }
        Kind::PasswordChanged => {
            json!({"name": "Kari Nordmann", "changed_at": "2026-11-23 10:15 UTC"})
        }
        Kind::RoleChanged => {
            json!({"name": "Kari Nordmann", "old_role": "observer representative", "new_role": "partner representative"})
        }
        Kind::ApiTokenCreated => json!({
            "name": "Kari Nordmann", "token_name": "website sync", "token_prefix": "cnt_AbCd",
            "scopes": "organisations:read, people:read", "created_at": "2026-11-23 10:15 UTC",
            "expires_at": "2027-11-23 00:00 UTC",
        }),
        Kind::AgreementStatusChanged => json!({
            "name": "Kari Nordmann", "organisation": "Roche Norge AS", "reference": "CONNECT-ROCHE-2021",
            "title": "Drug supply to IMPRESS-Norway", "from_status": "submitted", "to_status": "active",
            "reason": "Approved by the board", "link": "https://connect.example/api/v1/agreements/x",
        }),
        Kind::CapThreshold => json!({
            "name": "Kari Nordmann", "organisation": "Novartis Norge AS", "reference": "CONNECT-NOVARTIS-2021",
            "drug": "dabrafenib", "used": 80, "cap": 100, "percent": 80,
            "link": "https://connect.example/api/v1/agreements/x/usage",
        }),
        Kind::CohortStageChanged => json!({
            "name": "Kari Nordmann", "organisation": "Roche Norge AS",
            "cohort": "non-small cell lung cancer, ALK fusion", "drug": "alectinib",
            "reference": "CONNECT-ROCHE-2021", "from_stage": "stage_1", "from_status": "open",
            "to_stage": "stage_2", "to_status": "open", "reason": "1 of 8 patients with clinical benefit",
            "enrolled": 8, "benefits": 1, "link": "https://connect.example/api/v1/cohorts/x",
        }),
        Kind::EvaluationsDue => json!({
            "name": "Kari Nordmann", "organisation": "Roche Norge AS", "week_of": "2026-12-07",
            "overdue": [{"trial_code": "IMPRESS-0042", "site": "Oslo universitetssykehus HF", "drug": "alectinib", "reference": "CONNECT-ROCHE-2021", "due": "2026-12-01"}],
            "due": [{"trial_code": "IMPRESS-0043", "site": "Haukeland universitetssjukehus", "drug": "alectinib", "reference": "CONNECT-ROCHE-2021", "due": "2026-12-10"}],
            "link": "https://connect.example/api/v1/agreements/usage",
        }),
        Kind::VoteOpened => json!({
            "name": "Kari Nordmann", "body": "The board", "title": "Approve the Roche agreement",
            "reference": "BOARD-2026-14", "deadline": "2026-12-08 12:00 UTC", "eligible": 7,
            "quorum": 4, "link": "https://connect.example/api/v1/decisions/x",
        }),
        Kind::VoteReminder => json!({
            "name": "Kari Nordmann", "body": "The board", "title": "Approve the Roche agreement",
            "reference": "BOARD-2026-14", "deadline": "2026-12-08 12:00 UTC",
            "link": "https://connect.example/api/v1/decisions/x",
        }),
        Kind::VoteResult => json!({
            "name": "Kari Nordmann", "body": "The board", "title": "Approve the Roche agreement",
            "reference": "BOARD-2026-14", "outcome": "adopted", "yes": 5, "no": 1, "abstain": 0,
            "quorum": 4, "quorum_reached": true, "recused": 1, "closed_at": "2026-12-08 12:00 UTC",
            "link": "https://connect.example/api/v1/decisions/x",
        }),
        Kind::MeetingInvitation | Kind::MeetingUpdated => json!({
            "name": "Kari Nordmann", "title": "Working group 2: data sharing", "body": "Working group 2",
            "organizer": "Oslo Cancer Cluster", "when": "Tuesday 9 March 2027, 14:00–15:00",
            "time_zone": "Europe/Oslo", "place": null, "video_url": "https://teams.example/meet/wg2",
            "description": "Monthly meeting.", "link": "https://connect.example/api/v1/meetings/x",
            "accept_link": "https://connect.example/meetings/answer?token=x&response=accepted",
            "tentative_link": "https://connect.example/meetings/answer?token=x&response=tentative",
            "decline_link": "https://connect.example/meetings/answer?token=x&response=declined",
        }),
        Kind::MeetingCancelled => json!({
            "name": "Kari Nordmann", "title": "Working group 2: data sharing", "body": "Working group 2",
            "organizer": "Oslo Cancer Cluster", "when": "Tuesday 9 March 2027, 14:00–15:00",
            "time_zone": "Europe/Oslo", "reason": "Moved to the general assembly",
        }),
        Kind::MeetingReminder => json!({
            "name": "Kari Nordmann", "title": "Working group 2: data sharing", "body": "Working group 2",
            "when": "Tuesday 9 March 2027, 14:00–15:00", "time_zone": "Europe/Oslo",
            "place": "Oslo Cancer Cluster Innovation Park", "video_url": null,
            "link": "https://connect.example/api/v1/meetings/x",
        }),
        Kind::EventRegistration => json!({
            "name": "Kari Nordmann", "title": "Presisjonsmedisin for alle? (Arendalsuka)",
            "when": "Wednesday 18 August 2027, 10:00–11:30", "time_zone": "Europe/Oslo",
            "place": "Arendal", "status": "waitlisted", "position": 3,
            "cancel_link": "https://connect.example/events/registrations/cancel?token=x",
        }),
        Kind::ActionItemDue => json!({
            "name": "Kari Nordmann", "title": "Send the data-sharing template to the partners",
            "meeting_title": "Working group 2: data sharing", "due": "2027-03-16",
            "link": "https://connect.example/api/v1/me/action-items",
        }),
        Kind::PollInvitation => json!({
            "name": "Kari Nordmann", "title": "Dialogue meeting: industry and IMPRESS-Norway",
            "organizer": "Oslo Cancer Cluster", "slots": 4, "closes": "2027-01-15 12:00 UTC",
            "link": "https://connect.example/polls/answer?token=x",
        }),
        Kind::MembershipChanged => json!({
            "name": "Kari Nordmann", "organisation": "Roche Norge AS", "from_status": "observer",
            "to_status": "partner", "to_status_code": "partner", "effective_date": "2026-11-23",
        }),
    }
}

/// Labels for roles and membership statuses, per language.
pub fn role_label(lang: Language, role: Role) -> &'static str {
    match (lang, role) {
        (Language::Nb, Role::Admin) => "administrator (sekretariatet)",
        (Language::Nb, Role::PartnerRepresentative) => "partnerrepresentant",
        (Language::Nb, Role::ObserverRepresentative) => "observatørrepresentant",
        (Language::En, Role::Admin) => "administrator (secretariat)",
        (Language::En, Role::PartnerRepresentative) => "partner representative",
        (Language::En, Role::ObserverRepresentative) => "observer representative",
    }
}

pub fn status_label(lang: Language, status: MembershipStatus) -> &'static str {
    use MembershipStatus as S;
    match (lang, status) {
        (Language::Nb, S::None) => "ikke medlem",
        (Language::Nb, S::Applicant) => "søker",
        (Language::Nb, S::Partner) => "partner",
        (Language::Nb, S::Observer) => "observatør",
        (Language::Nb, S::Suspended) => "suspendert",
        (Language::Nb, S::Withdrawn) => "uttrådt",
        (Language::En, S::None) => "not a member",
        (Language::En, other) => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer() -> Mailer {
        Mailer::new(
            "https://connect.example.org",
            "CONNECT <no-reply@connect.example.org>",
        )
        .unwrap()
    }

    #[test]
    fn every_template_renders_in_both_languages() {
        let m = mailer();
        for kind in Kind::TEMPLATED {
            for &lang in Language::ALL {
                let r = m.render(kind, lang, &sample(kind)).unwrap();
                assert!(!r.subject.is_empty() && !r.subject.contains('\n'));
                assert!(r.html.contains(&format!("lang=\"{}\"", lang.as_str())));
                assert!(r.text.contains("Kari Nordmann"));
            }
        }
        let nb = m
            .render(
                Kind::PasswordReset,
                Language::Nb,
                &sample(Kind::PasswordReset),
            )
            .unwrap();
        assert!(nb.subject.contains("passordet"), "{}", nb.subject);
    }

    #[test]
    fn html_escapes_values_and_subjects_stay_one_line() {
        let m = mailer();
        let mut v = sample(Kind::MembershipChanged);
        v["organisation"] = json!("<script>alert(1)</script>\r\nBcc: x@y.z");
        let r = m.render(Kind::MembershipChanged, Language::En, &v).unwrap();
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }

    #[test]
    fn a_missing_value_is_an_error_not_an_empty_string() {
        let m = mailer();
        assert!(
            m.render(Kind::RoleChanged, Language::En, &json!({"name": "x"}))
                .is_err()
        );
    }

    #[test]
    fn a_broken_or_incomplete_template_set_stops_start_up() {
        const URL: &str = "https://connect.example.org";
        const FROM: &str = "CONNECT <no-reply@connect.example.org>";
        // A syntax error.
        static BROKEN: [(&str, &str); 1] = [("layout.html", "{% block body %}")];
        let e = Mailer::with_templates(URL, FROM, &BROKEN).err().unwrap();
        assert!(e.contains("layout.html"), "{e}");
        // A template that uses a value its kind does not provide.
        static MISSING: std::sync::LazyLock<Vec<(&'static str, &'static str)>> =
            std::sync::LazyLock::new(|| {
                TEMPLATES
                    .iter()
                    .map(|(n, s)| {
                        if *n == "role_changed.en.txt" {
                            (*n, "{{ no_such_value }}")
                        } else {
                            (*n, *s)
                        }
                    })
                    .collect()
            });
        let e = Mailer::with_templates(URL, FROM, MISSING.as_slice())
            .err()
            .unwrap();
        assert!(e.contains("role_changed.en"), "{e}");
        // Everything shipped passes.
        assert!(Mailer::new(URL, FROM).is_ok());
    }

    #[test]
    fn message_ids_use_the_public_host() {
        assert_eq!(mailer().message_id("abc"), "<abc@connect.example.org>");
    }

    #[test]
    fn signed_links_open_only_unchanged_for_their_purpose_and_key() {
        let m = Mailer::new("https://c.example", "c@c.example")
            .unwrap()
            .with_link_key(b"secret");
        let t = m.sign_link("meeting-answer", "a|b|1");
        assert_eq!(m.open_link("meeting-answer", &t).as_deref(), Some("a|b|1"));
        assert_eq!(m.open_link("poll-answer", &t), None);
        let other = Mailer::new("https://c.example", "c@c.example")
            .unwrap()
            .with_link_key(b"other");
        assert_eq!(other.open_link("meeting-answer", &t), None);
        let (_, mac) = t.split_once('.').unwrap();
        use base64::Engine as _;
        let forged = format!(
            "{}.{mac}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("a|c|1")
        );
        assert_eq!(m.open_link("meeting-answer", &forged), None);
        assert_eq!(m.open_link("meeting-answer", "garbage"), None);
    }

    #[test]
    fn expiring_links_carry_their_fields_until_their_time() {
        let m = Mailer::new("https://c.example", "c@c.example")
            .unwrap()
            .with_link_key(b"secret");
        let later = chrono::Utc::now() + chrono::TimeDelta::minutes(5);
        let t = m.sign_expiring("event-cancel", &["reg-1"], later);
        assert_eq!(
            m.open_expiring("event-cancel", &t),
            Some(vec!["reg-1".to_owned()])
        );
        assert_eq!(m.open_expiring("poll-answer", &t), None);
        let t = m.sign_expiring("meeting-answer", &["m", "i"], later);
        assert_eq!(
            m.open_expiring("meeting-answer", &t),
            Some(vec!["m".to_owned(), "i".to_owned()])
        );
        let past = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
        let t = m.sign_expiring("event-cancel", &["reg-1"], past);
        assert_eq!(m.open_expiring("event-cancel", &t), None, "expired");
    }
}
