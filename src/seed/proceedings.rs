//! The demo's board meeting of November 2026 (invented), held at Oslo Cancer Cluster: its
//! agenda on the national initiatives the seeds describe (IMPRESS-Norway, InPreD, the NorTrials
//! centres), the attendance, the approved minutes and two action items, one done. Made through
//! the same repository functions the API uses, so their rules, history and audit apply; skipped
//! when the board already has a meeting of that title.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::core::{ActionItemStatus, Attendance, Id, MeetingStatus};
use crate::db::DbConn;
use crate::db::functions::lower;
use crate::error::ApiError;
use crate::http::IfMatch;
use crate::meetings::model::{CreateMeeting, UpdateMeeting};
use crate::meetings::proceedings::model::{
    ApproveMinutes, AttendanceMark, CreateActionItem, CreateAgendaItem, Document, PutMinutes,
    SetAttendance, UpdateActionItem,
};
use crate::meetings::proceedings::repo as proceedings;
use crate::schema::{bodies as b, meetings as m, people as p};

/// What the proceedings part of the demo added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProceedingsSeeded {
    pub meetings: usize,
    pub agenda_items: usize,
    pub action_items: usize,
}

const TITLE: &str = "CONNECT board meeting, November 2026 (invented)";
const BOARD: &str = "CONNECT board";

pub(super) fn person(conn: &mut DbConn, email: &str) -> Result<Id, ApiError> {
    p::table
        .filter(p::email.eq(email))
        .select(p::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("the demo data names no person {email}")))
}

fn item(
    title: &str,
    description: &str,
    presenter: Option<Id>,
    minutes: i32,
    documents: Vec<Document>,
) -> CreateAgendaItem {
    CreateAgendaItem {
        title: title.into(),
        description: Some(description.into()),
        presenter_person_id: presenter,
        presenter_name: None,
        duration_minutes: Some(minutes),
        documents: Some(documents),
        position: None,
        decision_id: None,
    }
}

/// Adds the board meeting unless the board already has one of its title.
pub(super) fn load(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &crate::notifications::Mailer,
) -> Result<ProceedingsSeeded, ApiError> {
    let mut seeded = ProceedingsSeeded::default();
    let board: Id = b::table
        .filter(lower(b::name).eq(BOARD.to_lowercase()))
        .select(b::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("the demo data has no board"))?;
    let taken: i64 = m::table
        .filter(m::body_id.eq(&board))
        .filter(m::title.eq(TITLE))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Ok(seeded);
    }
    let day =
        |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).ok_or_else(|| ApiError::internal("date"));
    let at = |h: u32, min: u32| {
        day(18)?
            .and_hms_opt(h, min, 0)
            .ok_or_else(|| ApiError::internal("time"))
    };
    let id = Id::new();
    crate::meetings::repo::create(
        conn,
        caller,
        mailer,
        id.clone(),
        CreateMeeting {
            kind: None,
            body_id: Some(board),
            title: TITLE.into(),
            description: Some(
                "The board's autumn meeting: the national precision-medicine initiatives and the \
                 plan for 2027."
                    .into(),
            ),
            start: at(10, 0)?,
            end: at(12, 30)?,
            time_zone: None,
            place: Some("Oslo Cancer Cluster Innovation Park, Ullernchausseen 64, Oslo".into()),
            video_url: None,
            language: None,
            invite_members: Some(true),
            rrule: None,
            capacity: None,
        },
    )?;
    crate::meetings::repo::update(
        conn,
        caller,
        mailer,
        &id,
        &IfMatch(None),
        UpdateMeeting {
            status: Some(MeetingStatus::Held),
            ..UpdateMeeting::default()
        },
    )?;
    seeded.meetings += 1;
    let chair = person(conn, "ola.nordmann@demo.example")?;
    let occ = person(conn, "per.nordmann@demo.example")?;
    let kari = person(conn, "kari.nordmann@demo.example")?;
    let items = [
        item(
            "Opening and approval of the agenda",
            "The chair opens the meeting.",
            Some(chair.clone()),
            10,
            Vec::new(),
        ),
        item(
            "IMPRESS-Norway: status of the national trial",
            "The national researcher-initiated trial opened in April 2021 at hospitals in all \
             four health regions: cohorts open, patients included, and the drugs the companies \
             supply.",
            Some(kari.clone()),
            40,
            vec![Document {
                title: "IMPRESS-Norway status report (invented)".into(),
                url: "https://docs.demo.example/board/2026-11/impress-status.pdf".into(),
            }],
        ),
        item(
            "InPreD: molecular diagnostics at the six university hospitals",
            "The national network for precision diagnostics, whose advanced molecular \
             diagnostics the public health care system reimburses.",
            None,
            30,
            Vec::new(),
        ),
        item(
            "NorTrials: the six centres for clinical research",
            "The NorTrials centres at the university hospitals, set up to carry out more \
             clinical trials in Norway: how CONNECT works with them.",
            Some(occ.clone()),
            30,
            Vec::new(),
        ),
        item(
            "Any other business",
            "",
            Some(chair.clone()),
            10,
            Vec::new(),
        ),
    ];
    let mut agenda_ids = Vec::new();
    for req in items {
        let added = proceedings::add_agenda_item(conn, caller, &id, Id::new(), req)?;
        agenda_ids.push(added.id);
        seeded.agenda_items += 1;
    }
    // Everyone came but one member, who sent word.
    let invitees = crate::meetings::repo::invitee_rows(conn, &id)?;
    let absent = person(conn, "nils.nordmann@demo.example")?;
    let marks = invitees
        .iter()
        .map(|i| AttendanceMark {
            invitee_id: i.id.clone(),
            attendance: if i.person_id.as_ref() == Some(&absent) {
                Attendance::Excused
            } else {
                Attendance::Present
            },
        })
        .collect();
    proceedings::set_attendance(conn, caller, &id, SetAttendance { items: marks })?;
    proceedings::put_minutes(
        conn,
        caller,
        &id,
        None,
        PutMinutes {
            body: "1. Opening. The chair opened the meeting at 10:00; the agenda was approved.\n\
                   2. IMPRESS-Norway. The board took note of the status report and thanked the \
                   hospitals and the companies.\n\
                   3. InPreD. The board supports molecular profiling at every university \
                   hospital.\n\
                   4. NorTrials. The secretariat meets the NorTrials centres before the next \
                   meeting.\n\
                   5. Nothing else was raised. The meeting closed at 12:20."
                .into(),
        },
    )?;
    proceedings::approve_minutes(conn, caller, &id, ApproveMinutes::default())?;
    let task = |title: &str, owner: Id, due: NaiveDate, under: Option<Id>| CreateActionItem {
        title: title.into(),
        description: None,
        owner_person_id: owner,
        due_on: due,
        agenda_item_id: under,
    };
    let done = proceedings::create_action_item(
        conn,
        caller,
        &id,
        Id::new(),
        task(
            "Send the IMPRESS-Norway status report to the partners",
            kari,
            day(25)?,
            agenda_ids.get(1).cloned(),
        ),
    )?;
    proceedings::update_action_item(
        conn,
        caller,
        &id,
        &done.id,
        &IfMatch(None),
        UpdateActionItem {
            status: Some(ActionItemStatus::Done),
            ..UpdateActionItem::default()
        },
    )?;
    proceedings::create_action_item(
        conn,
        caller,
        &id,
        Id::new(),
        task(
            "Arrange a meeting with the NorTrials centres",
            occ,
            NaiveDate::from_ymd_opt(2027, 2, 1).ok_or_else(|| ApiError::internal("date"))?,
            agenda_ids.get(3).cloned(),
        ),
    )?;
    seeded.action_items += 2;
    Ok(seeded)
}
