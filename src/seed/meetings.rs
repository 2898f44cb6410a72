//! The demo's meetings beside the board's: the four working groups' regular digital meetings
//! since February 2021 as series (as the seeds tell; their days, hours and links invented), one
//! occurrence moved and one cancelled, and a dialogue meeting between industry and
//! IMPRESS-Norway/InPreD (invented) with guests and an agenda. Made through the same repository
//! functions the API uses, so their rules, history, audit and e-mails apply (the mail goes to
//! the outbox like every other); each is skipped when its body already has a meeting of its
//! title.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::proceedings::person;
use crate::auth::Caller;
use crate::core::Id;
use crate::db::DbConn;
use crate::db::functions::lower;
use crate::error::ApiError;
use crate::http::IfMatch;
use crate::meetings::model::{AddInvitee, CancelMeeting, CreateMeeting, UpdateMeeting};
use crate::meetings::proceedings::model::{CreateAgendaItem, Document};
use crate::meetings::proceedings::repo as proceedings;
use crate::notifications::Mailer;
use crate::schema::{bodies as b, meetings as m};

/// What the meetings part of the demo added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MeetingsSeeded {
    /// Series of the working groups' meetings.
    pub series: usize,
    /// Occurrences of a series moved alone.
    pub moved: usize,
    /// Occurrences of a series cancelled alone.
    pub cancelled: usize,
    /// Single meetings (the dialogue meeting).
    pub meetings: usize,
    /// Guests invited (name and e-mail, no person in the register).
    pub guests: usize,
    pub agenda_items: usize,
}

pub(super) const WG1: &str = "Working group 1: advanced diagnostics";
const WG2: &str = "Working group 2: clinical trials and implementation";
const WG3: &str = "Working group 3: funding and reimbursement";
const WG4: &str = "Working group 4: data capture, storage and secondary use";
const DIALOGUE: &str = "Dialogue forum: industry, IMPRESS-Norway and InPreD";
pub(super) const DIALOGUE_TITLE: &str =
    "Dialogue meeting: industry, IMPRESS-Norway and InPreD, January 2027 (invented)";

/// A series of a working group's digital meetings.
struct Series {
    body: &'static str,
    title: &'static str,
    description: &'static str,
    /// The first occurrence's local start and end (Europe/Oslo).
    first: (i32, u32, u32),
    hours: ((u32, u32), (u32, u32)),
    rrule: &'static str,
    link: &'static str,
}

const SERIES: [Series; 5] = [
    Series {
        body: WG1,
        title: "WG1 monthly meeting",
        description: "The working group's regular digital meeting (since February 2021): molecular \
                      profiling through InPreD at every university hospital. Day, hour and link \
                      invented.",
        first: (2021, 2, 9),
        hours: ((14, 0), (15, 0)),
        rrule: "FREQ=MONTHLY;BYDAY=2TU",
        link: "https://teams.example.com/l/meetup-join/connect-wg1",
    },
    Series {
        body: WG2,
        title: "WG2 monthly meeting",
        description: "The working group's regular digital meeting (since February 2021): clinical \
                      trials and the implementation of precision treatment, building on \
                      IMPRESS-Norway. Day, hour and link invented.",
        first: (2021, 2, 4),
        hours: ((9, 0), (10, 0)),
        rrule: "FREQ=MONTHLY;BYDAY=1TH",
        link: "https://teams.example.com/l/meetup-join/connect-wg2",
    },
    // WG3 met monthly until the end of 2022, then every second month (invented): the first
    // series ended with an UNTIL, a second one took over.
    Series {
        body: WG3,
        title: "WG3 monthly meeting (2021-2022)",
        description: "The working group's regular digital meeting (since February 2021): novel \
                      mechanisms for funding and reimbursement. Monthly until December 2022; \
                      day, hour, link and the change of rhythm invented.",
        first: (2021, 2, 24),
        hours: ((15, 0), (16, 0)),
        rrule: "FREQ=MONTHLY;BYDAY=-1WE;UNTIL=20221231T230000Z",
        link: "https://teams.example.com/l/meetup-join/connect-wg3",
    },
    Series {
        body: WG3,
        title: "WG3 meeting every second month",
        description: "The working group's regular digital meeting, every second month since \
                      January 2023 (invented, as are day, hour and link).",
        first: (2023, 1, 25),
        hours: ((15, 0), (16, 0)),
        rrule: "FREQ=MONTHLY;INTERVAL=2;BYDAY=-1WE",
        link: "https://teams.example.com/l/meetup-join/connect-wg3",
    },
    Series {
        body: WG4,
        title: "WG4 meeting every second week",
        description: "The working group's regular digital meeting (since February 2021): data \
                      capture, storage and use for secondary analysis. Day, hour and link \
                      invented.",
        first: (2021, 2, 5),
        hours: ((9, 0), (10, 0)),
        rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
        link: "https://teams.example.com/l/meetup-join/connect-wg4",
    },
];

/// WG1's occurrence moved alone (original local start, new local start), and the one cancelled.
pub(super) const WG1_MOVED: ((i32, u32, u32), (i32, u32, u32)) = ((2021, 4, 13), (2021, 4, 15));
pub(super) const WG1_CANCELLED: (i32, u32, u32) = (2021, 5, 11);

fn local(date: (i32, u32, u32), hm: (u32, u32)) -> Result<NaiveDateTime, ApiError> {
    NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .and_then(|d| d.and_hms_opt(hm.0, hm.1, 0))
        .ok_or_else(|| ApiError::internal("the demo data has an invalid date"))
}

/// A local time in Oslo as UTC.
fn oslo_utc(date: (i32, u32, u32), hm: (u32, u32)) -> Result<NaiveDateTime, ApiError> {
    crate::meetings::model::to_utc(local(date, hm)?, chrono_tz::Europe::Oslo, "start")
}

pub(super) fn body_named(conn: &mut DbConn, name: &str) -> Result<Id, ApiError> {
    b::table
        .filter(lower(b::name).eq(name.to_lowercase()))
        .select(b::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("the demo data has no body {name}")))
}

/// Whether a meeting of this title is there already (of the body, when given).
pub(super) fn taken(conn: &mut DbConn, body: Option<&Id>, title: &str) -> Result<bool, ApiError> {
    let n: i64 = match body {
        Some(body) => m::table
            .filter(m::body_id.eq(body))
            .filter(m::title.eq(title))
            .count()
            .get_result(conn)?,
        None => m::table
            .filter(m::body_id.is_null())
            .filter(m::title.eq(title))
            .count()
            .get_result(conn)?,
    };
    Ok(n > 0)
}

/// Adds the working groups' series and the dialogue meeting, skipping those already there.
pub(super) fn load(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
) -> Result<MeetingsSeeded, ApiError> {
    let mut seeded = MeetingsSeeded::default();
    for s in &SERIES {
        let body = body_named(conn, s.body)?;
        if taken(conn, Some(&body), s.title)? {
            continue;
        }
        let id = Id::new();
        crate::meetings::repo::create(
            conn,
            caller,
            mailer,
            id.clone(),
            CreateMeeting {
                kind: None,
                body_id: Some(body),
                title: s.title.into(),
                description: Some(s.description.into()),
                start: local(s.first, s.hours.0)?,
                end: local(s.first, s.hours.1)?,
                time_zone: Some("Europe/Oslo".into()),
                place: None,
                video_url: Some(s.link.into()),
                language: None,
                invite_members: Some(true),
                rrule: Some(s.rrule.into()),
                capacity: None,
            },
        )?;
        seeded.series += 1;
        if s.body == WG1 {
            // April 2021's meeting moved two days on, May's called off (invented).
            let (from, to) = WG1_MOVED;
            crate::meetings::series::update_occurrence(
                conn,
                caller,
                mailer,
                &id,
                oslo_utc(from, s.hours.0)?,
                &IfMatch(None),
                UpdateMeeting {
                    start: Some(local(to, s.hours.0)?),
                    description: Some(format!(
                        "{} Moved from Tuesday to Thursday this once: the chair was at a \
                         conference (invented).",
                        s.description
                    )),
                    ..UpdateMeeting::default()
                },
            )?;
            seeded.moved += 1;
            crate::meetings::series::cancel_occurrence(
                conn,
                caller,
                mailer,
                &id,
                oslo_utc(WG1_CANCELLED, s.hours.0)?,
                CancelMeeting {
                    reason: Some("Too few could attend; the items move to June (invented).".into()),
                },
            )?;
            seeded.cancelled += 1;
        }
    }
    dialogue(conn, caller, mailer, &mut seeded)?;
    Ok(seeded)
}

/// The dialogue meeting: the forum's members invited, three industry guests, three items.
fn dialogue(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    seeded: &mut MeetingsSeeded,
) -> Result<(), ApiError> {
    let body = body_named(conn, DIALOGUE)?;
    if taken(conn, Some(&body), DIALOGUE_TITLE)? {
        return Ok(());
    }
    let day = (2027, 1, 20);
    let id = Id::new();
    crate::meetings::repo::create(
        conn,
        caller,
        mailer,
        id.clone(),
        CreateMeeting {
            kind: None,
            body_id: Some(body),
            title: DIALOGUE_TITLE.into(),
            description: Some(
                "CONNECT facilitates dialogue meetings between industry representatives and the \
                 national initiatives IMPRESS-Norway and InPreD. This one (invented): what the \
                 trial's cohorts need, what the molecular tumour board refers, and paying for \
                 results. Guests from companies that joined CONNECT later (Lilly, MSD, Janssen; \
                 the people invented)."
                    .into(),
            ),
            start: local(day, (13, 0))?,
            end: local(day, (15, 0))?,
            time_zone: Some("Europe/Oslo".into()),
            place: Some("Oslo Cancer Cluster Innovation Park, Ullernchausseen 64, Oslo".into()),
            video_url: Some("https://teams.example.com/l/meetup-join/connect-dialogue".into()),
            language: Some(crate::notifications::Language::En),
            invite_members: Some(true),
            rrule: None,
            capacity: None,
        },
    )?;
    seeded.meetings += 1;
    for (name, email) in [
        ("Hanne Hansen", "hanne.hansen@example.org"),
        ("Sverre Olsen", "sverre.olsen@example.org"),
        ("Maria Johansen", "maria.johansen@example.org"),
    ] {
        crate::meetings::repo::add_invitee(
            conn,
            caller,
            mailer,
            &id,
            Id::new(),
            AddInvitee {
                person_id: None,
                name: Some(name.into()),
                email: Some(email.into()),
            },
        )?;
        seeded.guests += 1;
    }
    let marit = person(conn, "marit.nordmann@demo.example")?;
    let jon = person(conn, "jon.nordmann@demo.example")?;
    let items = [
        CreateAgendaItem {
            title: "IMPRESS-Norway: the cohorts and the drugs they still need".into(),
            description: Some(
                "The nation-wide trial tests approved drugs on new indications matched to the \
                 tumour's molecular changes: which cohorts wait for a drug, and how a company \
                 joins (Roche was the first, in January 2021, Novartis the second)."
                    .into(),
            ),
            presenter_person_id: Some(marit),
            presenter_name: None,
            duration_minutes: Some(45),
            documents: Some(vec![Document {
                title: "Cohorts waiting for a drug (invented)".into(),
                url: "https://docs.demo.example/dialogue/2027-01/cohorts.pdf".into(),
            }]),
            position: None,
            decision_id: None,
        },
        CreateAgendaItem {
            title: "InPreD: from the molecular tumour board to treatment".into(),
            description: Some(
                "Patients' tumours profiled with a gene panel at the university hospitals, \
                 discussed in the weekly national molecular tumour board, and referred to \
                 IMPRESS-Norway, other trials or compassionate use."
                    .into(),
            ),
            presenter_person_id: Some(jon),
            presenter_name: None,
            duration_minutes: Some(30),
            documents: Some(Vec::new()),
            position: None,
            decision_id: None,
        },
        CreateAgendaItem {
            title: "Paying for results: the Stage 3 reimbursement".into(),
            description: Some(
                "The regional health authorities reimburse drugs in IMPRESS Stage 3 cohorts: \
                 the company pays for the first 16 weeks, and a patient who responds is then \
                 treated at the public health service's cost. The industry's experience so far."
                    .into(),
            ),
            presenter_person_id: None,
            presenter_name: Some("Hanne Hansen (guest, invented)".into()),
            duration_minutes: Some(30),
            documents: Some(Vec::new()),
            position: None,
            decision_id: None,
        },
    ];
    for req in items {
        proceedings::add_agenda_item(conn, caller, &id, Id::new(), req)?;
        seeded.agenda_items += 1;
    }
    Ok(())
}
