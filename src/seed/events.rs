//! The demo's open events: CONNECT's public meeting at Arendalsuka 2021 (held in Norwegian, on
//! the topic the seeds announce; its day, venue and recording link invented), and the one the
//! board's open recommendation proposes for Arendalsuka 2027 (invented), open for registration
//! with invented registrants. Made through the same repository functions the API uses, so the
//! places taken, the audit and the registrants' e-mails (to the outbox) are as a registration
//! through the API leaves them; each is skipped when an open event of its title exists.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

use super::meetings::taken;
use crate::auth::Caller;
use crate::core::{Id, MeetingKind, MeetingStatus};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::IfMatch;
use crate::meetings::events::model::Register;
use crate::meetings::model::{CreateMeeting, UpdateMeeting};
use crate::notifications::{Language, Mailer};

/// What the events part of the demo added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EventsSeeded {
    pub events: usize,
    pub registrations: usize,
}

pub(super) const PAST_TITLE: &str = "Hvordan lykkes med presisjonsmedisin mot kreft? Forskning og \
                                     samarbeid som bringer oss videre (Arendalsuka 2021)";
/// The upcoming event's capacity.
pub(super) const CAPACITY: i32 = 60;

/// The title of the public meeting at Arendalsuka `year`.
pub fn arendalsuka_title(year: i32) -> String {
    format!(
        "Presisjonsmedisin for alle? Tilgang til persontilpasset kreftbehandling (Arendalsuka {year}, invented)"
    )
}

/// The Wednesday of Arendalsuka `year` (held in week 33, mid-August).
fn arendalsuka_wednesday(year: i32) -> Result<NaiveDate, ApiError> {
    NaiveDate::from_isoywd_opt(year, 33, Weekday::Wed)
        .ok_or_else(|| ApiError::internal("the demo data has an invalid date"))
}

/// The year of the next Arendalsuka whose public meeting is still ahead on `today`: 2027, as the
/// board's recommendation says, or a later one once that is past (registrations need a future
/// event).
pub fn arendalsuka_year(today: NaiveDate) -> Result<i32, ApiError> {
    let mut year = today.year().max(2027);
    while arendalsuka_wednesday(year)? <= today {
        year += 1;
    }
    Ok(year)
}

fn at(day: NaiveDate, h: u32, min: u32) -> Result<NaiveDateTime, ApiError> {
    day.and_hms_opt(h, min, 0)
        .ok_or_else(|| ApiError::internal("the demo data has an invalid time"))
}

fn create(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    title: String,
    description: &str,
    day: NaiveDate,
    capacity: Option<i32>,
) -> Result<Id, ApiError> {
    let id = Id::new();
    crate::meetings::repo::create(
        conn,
        caller,
        mailer,
        id.clone(),
        CreateMeeting {
            kind: Some(MeetingKind::OpenEvent),
            body_id: None,
            title,
            description: Some(description.into()),
            start: at(day, 10, 0)?,
            end: at(day, 11, 30)?,
            time_zone: Some("Europe/Oslo".into()),
            place: Some("Kulturhuset, Arendal (the venue invented)".into()),
            video_url: None,
            language: Some(Language::Nb),
            invite_members: None,
            rrule: None,
            capacity,
        },
    )?;
    Ok(id)
}

/// Adds the past and the coming Arendalsuka meetings, skipping those already there.
pub(super) fn load(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    today: NaiveDate,
) -> Result<EventsSeeded, ApiError> {
    let mut seeded = EventsSeeded::default();
    if !taken(conn, None, PAST_TITLE)? {
        let day = NaiveDate::from_ymd_opt(2021, 8, 18)
            .ok_or_else(|| ApiError::internal("the demo data has an invalid date"))?;
        let id = create(
            conn,
            caller,
            mailer,
            PAST_TITLE.into(),
            "CONNECTs åpne møte under Arendalsuka, på norsk: samtaler om ny forskning og nye \
             behandlingsmuligheter for kreftpasienter i Norge.\n\nDemo data: the topic is the \
             one CONNECT announced (\"How to succeed with precision cancer medicine – Research \
             and collaboration that brings us further\", the title translated); the day, hour, \
             venue and recording link are invented.",
            day,
            None,
        )?;
        crate::meetings::repo::update(
            conn,
            caller,
            mailer,
            &id,
            &IfMatch(None),
            UpdateMeeting {
                status: Some(MeetingStatus::Held),
                recording_url: Some(Some(
                    "https://video.demo.example/connect/arendalsuka-2021".into(),
                )),
                ..UpdateMeeting::default()
            },
        )?;
        seeded.events += 1;
    }
    let year = arendalsuka_year(today)?;
    let title = arendalsuka_title(year);
    if taken(conn, None, &title)? {
        return Ok(seeded);
    }
    let id = create(
        conn,
        caller,
        mailer,
        title,
        "Åpent møte under Arendalsuka, på norsk: hvordan får alle kreftpasienter i Norge lik \
         tilgang til persontilpasset diagnostikk og behandling? Samtaler med klinikere, \
         pasientorganisasjoner, myndigheter og industri om InPreD, IMPRESS-Norway og nye måter \
         å betale for presisjonsmedisin.\n\nDemo data: the board's open recommendation proposes \
         the meeting; its programme, day, hour and venue are invented.",
        arendalsuka_wednesday(year)?,
        Some(CAPACITY),
    )?;
    seeded.events += 1;
    // Invented registrants; one asks for the e-mails in English.
    let registrants: [(&str, &str, Option<&str>, Option<Language>); 8] = [
        (
            "Ingrid Berg",
            "ingrid.berg@example.org",
            Some("Kreftforeningen"),
            None,
        ),
        (
            "Thomas Lie",
            "thomas.lie@example.org",
            Some("Oslo universitetssykehus HF"),
            None,
        ),
        ("Silje Dahl", "silje.dahl@example.org", None, None),
        (
            "Morten Strand",
            "morten.strand@example.org",
            Some("Legemiddelindustrien"),
            None,
        ),
        (
            "Emma Wilson",
            "emma.wilson@example.org",
            Some("Novartis Norge AS"),
            Some(Language::En),
        ),
        (
            "Kristian Moe",
            "kristian.moe@example.org",
            Some("Sørlandet sykehus HF"),
            None,
        ),
        (
            "Nora Haugen",
            "nora.haugen@example.org",
            Some("Agderposten"),
            None,
        ),
        ("Ole Kristiansen", "ole.kristiansen@example.org", None, None),
    ];
    for (name, email, organisation, language) in registrants {
        crate::meetings::events::repo::register(
            conn,
            mailer,
            &id,
            Id::new(),
            Register {
                name: name.into(),
                email: email.into(),
                organisation: organisation.map(Into::into),
                language,
            },
        )?;
        seeded.registrations += 1;
    }
    Ok(seeded)
}
