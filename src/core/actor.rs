//! Who made a change: recorded with every audit event.

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn user(user_id: &str, request_id: Option<String>) -> Self {
        Self {
            kind: "user",
            id: Some(user_id.to_owned()),
            request_id,
        }
    }
    /// A change made with an API token: the owner is the actor, the token is noted.
    pub fn api_token(user_id: &str, token_id: &str, request_id: Option<String>) -> Self {
        Self {
            kind: "api_token",
            id: Some(format!("{user_id}/{token_id}")),
            request_id,
        }
    }
    /// A change made through a public link or form by someone without an account (an open
    /// event's registrant): the record they act through is the actor.
    pub fn registrant(registration_id: &str) -> Self {
        Self {
            kind: "registrant",
            id: Some(registration_id.to_owned()),
            request_id: None,
        }
    }
    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            request_id: None,
        }
    }
}
