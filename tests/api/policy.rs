//! The access policy, cell by cell: every organisation, people, drugs, agreements, cohorts, bodies, decisions, meetings, users, audit and webhook route against
//! every role, with the exact status each must answer. What a caller may not see answers 404;
//! what they see but may not change, and admin-only endpoints, answer 403.
//!
//! Each role's row runs against one set of fixtures (one server), cell after cell; a cell that
//! changes something is either repeatable or followed by the cell that undoes it.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const ROLES: [&str; 6] = [
    "admin",
    "partner",
    "observer",
    "applicant",
    "suspended",
    "withdrawn",
];

/// One request and the status each role must get, in the order of [`ROLES`].
struct Cell {
    method: &'static str,
    /// With placeholders: `{own}` (the caller's organisation; for the admin a partner
    /// organisation), `{member}` (a partner), `{applicant}`, `{trial}` (a hospital that is a trial
    /// site but no member), `{archived}` (an archived partner), `{disposable}` (a partner the row
    /// archives and restores), `{missing}` (no such id), `{own_person}`, `{member_person}`,
    /// `{applicant_person}`, `{trial_person}`, `{own_drug}` (proposed), `{member_drug}`
    /// (available), `{member_proposed_drug}`, `{fresh_*_person}` (a contact created just for
    /// this cell), `{user}` (another account), `{me}` (the caller's account), `{n}` (unique),
    /// `{own_spare_drug}` (proposed), `{own_agreement}` (a draft covering `{own_drug}`),
    /// `{own_submitted}`, `{member_agreement}` (active, covering `{member_drug}`), `{own_cohort}`,
    /// `{member_cohort}`, `{spare_cohort}` (one a row closes), `{member_allocation}` and
    /// `{spare_allocation}` (patients under `{member_agreement}` at `{trial}`; a row evaluates
    /// the first and withdraws the second), `{body}` (a working group the caller has no seat
    /// in) and `{body_seat}` (a seat in it), `{seated_body}` (the caller's person a member, the
    /// observer's an observer) and `{seated_seat}` (another's seat in it), `{chaired_body}` (the
    /// caller's person its chair, the observer's an observer) and `{chaired_seat}`; meetings
    /// `{body_meeting}`, `{seated_meeting}` and `{chaired_meeting}` in those bodies (the caller's
    /// person invited to the last two as a member), `{chaired_spare_meeting}` (one a row cancels),
    /// `{chaired_invitee}` (a guest of `{chaired_meeting}` a row uninvites) and `{open_event}`;
    /// `{chaired_agenda_item}` and `{chaired_action_item}` of `{chaired_meeting}`, and
    /// `{chaired_past_meeting}` (started in 2020) with its guest `{chaired_past_invitee}`;
    /// scheduling polls `{chaired_poll}` and `{chaired_spare_poll}` (of `{chaired_body}`),
    /// `{body_poll}` (of `{body}`), all three asking the caller's person, and `{hidden_poll}` (of
    /// `{body}`, asking someone else), each with its one slot `{<poll>_slot}`; webhook
    /// subscriptions `{webhook}` and `{spare_webhook}` (inactive; a row deletes the second) and
    /// `{webhook_delivery}` (a pending test delivery of the first).
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 6],
}

const fn cell(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 6],
) -> Cell {
    Cell {
        method,
        path,
        body,
        expect,
    }
}

const ALL_200: [u16; 6] = [200; 6];
/// Admin only: everyone else is refused (the route is not theirs at all).
const ADMIN_200: [u16; 6] = [200, 403, 403, 403, 403, 403];
/// Visible to members (partners, observers) and admins; hidden from the rest.
const MEMBERS_200: [u16; 6] = [200, 200, 200, 404, 404, 404];
/// Visible to the admin only.
const HIDDEN: [u16; 6] = [200, 404, 404, 404, 404, 404];

const WEBSITE: &str = r#"{"website": "https://edited.example.org"}"#;
const TITLE: &str = r#"{"title": "Edited"}"#;

const MATRIX: &[Cell] = &[
    // --- organisations: read
    cell("GET", "/api/v1/organisations", None, ALL_200),
    cell("GET", "/api/v1/organisations/{own}", None, ALL_200),
    cell("GET", "/api/v1/organisations/{member}", None, MEMBERS_200),
    cell("GET", "/api/v1/organisations/{applicant}", None, HIDDEN),
    cell("GET", "/api/v1/organisations/{trial}", None, MEMBERS_200),
    cell("GET", "/api/v1/organisations/{archived}", None, HIDDEN),
    cell("GET", "/api/v1/organisations/{missing}", None, [404; 6]),
    // --- organisations: create (admin only)
    cell(
        "POST",
        "/api/v1/organisations",
        Some(r#"{"name": "Created{n}", "kind": "pharma", "sector": "private"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    // --- organisations: edit
    cell(
        "PATCH",
        "/api/v1/organisations/{own}",
        Some(WEBSITE),
        [200, 200, 200, 200, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{own}",
        Some(r#"{"trial_site": true}"#),
        [200, 403, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{own}",
        Some(r#"{"founding_partner": true}"#),
        [200, 403, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{member}",
        Some(WEBSITE),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{applicant}",
        Some(WEBSITE),
        HIDDEN,
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{trial}",
        Some(WEBSITE),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/organisations/{archived}",
        Some(WEBSITE),
        [409, 404, 404, 404, 404, 404],
    ),
    // --- organisations: archive and restore (admin only)
    cell(
        "DELETE",
        "/api/v1/organisations/{disposable}",
        None,
        [204, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{disposable}/restore",
        None,
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "DELETE",
        "/api/v1/organisations/{own}",
        None,
        [204, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{own}/restore",
        None,
        ADMIN_200,
    ),
    cell(
        "DELETE",
        "/api/v1/organisations/{applicant}",
        None,
        [204, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{applicant}/restore",
        None,
        HIDDEN,
    ),
    // --- membership history: admins and the organisation's own representatives
    cell(
        "GET",
        "/api/v1/organisations/{own}/membership-changes",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{member}/membership-changes",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{applicant}/membership-changes",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{archived}/membership-changes",
        None,
        HIDDEN,
    ),
    // --- membership changes (admin only); each pair leaves the status as it was
    cell(
        "POST",
        "/api/v1/organisations/{own}/membership-changes",
        Some(r#"{"to_status": "observer", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{own}/membership-changes",
        Some(r#"{"to_status": "partner", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{member}/membership-changes",
        Some(r#"{"to_status": "observer", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{member}/membership-changes",
        Some(r#"{"to_status": "partner", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{applicant}/membership-changes",
        Some(r#"{"to_status": "none", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{applicant}/membership-changes",
        Some(r#"{"to_status": "applicant", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [201, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/organisations/{archived}/membership-changes",
        Some(r#"{"to_status": "observer", "effective_date": "2024-06-01", "reason": "matrix"}"#),
        [409, 404, 404, 404, 404, 404],
    ),
    // --- people: read
    cell("GET", "/api/v1/people", None, ALL_200),
    cell("GET", "/api/v1/people/{own_person}", None, ALL_200),
    cell("GET", "/api/v1/people/{member_person}", None, MEMBERS_200),
    cell("GET", "/api/v1/people/{applicant_person}", None, HIDDEN),
    cell("GET", "/api/v1/people/{trial_person}", None, HIDDEN),
    cell("GET", "/api/v1/organisations/{own}/people", None, ALL_200),
    cell(
        "GET",
        "/api/v1/organisations/{member}/people",
        None,
        MEMBERS_200,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{applicant}/people",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{trial}/people",
        None,
        MEMBERS_200,
    ),
    cell(
        "GET",
        "/api/v1/organisations/{archived}/people",
        None,
        HIDDEN,
    ),
    // --- people: create
    cell(
        "POST",
        "/api/v1/people",
        Some(r#"{"name": "Contact", "email": "default{n}@people.test"}"#),
        [201, 201, 201, 201, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/people",
        Some(r#"{"organisation_id": "{own}", "name": "Contact", "email": "own{n}@people.test"}"#),
        [201, 201, 201, 201, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/people",
        Some(
            r#"{"organisation_id": "{member}", "name": "Contact", "email": "member{n}@people.test"}"#,
        ),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/people",
        Some(
            r#"{"organisation_id": "{applicant}", "name": "Contact", "email": "applicant{n}@people.test"}"#,
        ),
        HIDDEN_CREATED,
    ),
    // --- people: edit and delete
    cell(
        "PATCH",
        "/api/v1/people/{own_person}",
        Some(TITLE),
        [200, 200, 200, 200, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/people/{member_person}",
        Some(TITLE),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/people/{applicant_person}",
        Some(TITLE),
        HIDDEN,
    ),
    cell(
        "DELETE",
        "/api/v1/people/{fresh_own_person}",
        None,
        [204, 204, 204, 204, 403, 403],
    ),
    cell(
        "DELETE",
        "/api/v1/people/{fresh_member_person}",
        None,
        [204, 403, 403, 404, 404, 404],
    ),
    cell(
        "DELETE",
        "/api/v1/people/{fresh_applicant_person}",
        None,
        [204, 404, 404, 404, 404, 404],
    ),
    // --- drugs: a company's own (proposed) drug is seen by its representatives whatever their
    // standing; another company's only once available, and only by members
    cell("GET", "/api/v1/drugs", None, ALL_200),
    cell("GET", "/api/v1/drugs/{own_drug}", None, ALL_200),
    cell("GET", "/api/v1/drugs/{member_drug}", None, MEMBERS_200),
    cell("GET", "/api/v1/drugs/{member_proposed_drug}", None, HIDDEN),
    cell(
        "POST",
        "/api/v1/drugs",
        Some(r#"{"organisation_id": "{own}", "generic_name": "owninib{n}"}"#),
        [201, 201, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/drugs",
        Some(r#"{"organisation_id": "{member}", "generic_name": "memberinib{n}"}"#),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/drugs/{own_drug}",
        Some(r#"{"notes": "Edited {n}"}"#),
        [200, 200, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/drugs/{member_drug}",
        Some(r#"{"notes": "Edited {n}"}"#),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/drugs/{member_proposed_drug}",
        Some(r#"{"notes": "Edited {n}"}"#),
        HIDDEN,
    ),
    // --- allocations: patient-level data, for the secretariat, the owning company and the site
    // only (404 for everyone else, observers included). Usage is the agreement's terms' business.
    cell("GET", "/api/v1/allocations", None, ALL_200),
    cell(
        "GET",
        "/api/v1/allocations/{member_allocation}",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{member_agreement}/allocations",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{own_agreement}/allocations",
        None,
        ALL_200,
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/allocations",
        Some(
            r#"{"trial_code": "CELL-{n}", "drug_id": "{member_drug}", "site_id": "{trial}", "cohort_id": "{member_cohort}", "started_on": "2026-01-05"}"#,
        ),
        HIDDEN_CREATED,
    ),
    cell(
        "POST",
        "/api/v1/allocations/{member_allocation}/evaluation",
        Some(r#"{"outcome": "not_evaluable", "evaluated_on": "2026-06-01"}"#),
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/allocations/{spare_allocation}/withdraw",
        Some(r#"{"reason": "Cell {n}"}"#),
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{member_agreement}/usage",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{own_agreement}/usage",
        None,
        ALL_200,
    ),
    cell("GET", "/api/v1/agreements/usage", None, ADMIN_200),
    // --- agreements: the terms are the secretariat's and the owning company's only (404 for
    // everyone else); the company drafts, edits and submits while a partner; the secretariat
    // decides. `{own_agreement}` is a draft covering `{own_drug}`, `{own_submitted}` submitted,
    // `{member_agreement}` an active agreement of a partner covering `{member_drug}`.
    cell("GET", "/api/v1/agreements", None, ALL_200),
    cell(
        "GET",
        "/api/v1/agreements/summary",
        None,
        [200, 200, 200, 403, 403, 403],
    ),
    cell("GET", "/api/v1/agreements/{own_agreement}", None, ALL_200),
    cell("GET", "/api/v1/agreements/{member_agreement}", None, HIDDEN),
    cell(
        "GET",
        "/api/v1/agreements/{own_agreement}/drugs",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{member_agreement}/drugs",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{own_agreement}/history",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/agreements/{member_agreement}/history",
        None,
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/agreements",
        Some(
            r#"{"organisation_id": "{own}", "reference": "OWN-{n}", "title": "Supply", "patient_cap": 5}"#,
        ),
        [201, 201, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements",
        Some(
            r#"{"organisation_id": "{member}", "reference": "MIKE-{n}", "title": "Supply", "patient_cap": 5}"#,
        ),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/agreements/{own_agreement}",
        Some(r#"{"notes": "Edited {n}"}"#),
        [200, 200, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/agreements/{own_submitted}",
        Some(r#"{"notes": "Edited {n}"}"#),
        [200, 403, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/agreements/{member_agreement}",
        Some(r#"{"notes": "Edited {n}"}"#),
        HIDDEN,
    ),
    // Covered, then no longer: the pair leaves the draft as it was.
    cell(
        "POST",
        "/api/v1/agreements/{own_agreement}/drugs",
        Some(r#"{"drug_id": "{own_spare_drug}"}"#),
        [201, 201, 403, 403, 403, 403],
    ),
    cell(
        "GET",
        "/api/v1/agreements/{own_agreement}/drugs/{own_spare_drug}",
        None,
        [200, 200, 404, 404, 404, 404],
    ),
    cell(
        "DELETE",
        "/api/v1/agreements/{own_agreement}/drugs/{own_spare_drug}",
        None,
        [204, 204, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/drugs",
        Some(r#"{"drug_id": "{member_drug}"}"#),
        [409, 404, 404, 404, 404, 404],
    ),
    cell(
        "DELETE",
        "/api/v1/agreements/{member_agreement}/drugs/{member_drug}",
        None,
        [409, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_submitted}/submit",
        Some("{}"),
        [409, 409, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/submit",
        Some("{}"),
        [409, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_agreement}/activate",
        Some("{}"),
        [409, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/activate",
        Some("{}"),
        [409, 404, 404, 404, 404, 404],
    ),
    // Suspended, then active again.
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/suspend",
        Some(r#"{"reason": "Cell {n}"}"#),
        [200, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/activate",
        Some("{}"),
        [200, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_agreement}/suspend",
        Some(r#"{"reason": "Cell {n}"}"#),
        [409, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_agreement}/end",
        Some(r#"{"reason": "Cell {n}"}"#),
        [409, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_submitted}/end",
        Some(r#"{"reason": "Cell {n}"}"#),
        [409, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{member_agreement}/amendments",
        Some(r#"{"reason": "Cell {n}", "funded_weeks": 16}"#),
        [201, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/agreements/{own_agreement}/amendments",
        Some(r#"{"reason": "Cell {n}", "funded_weeks": 16}"#),
        [409, 403, 403, 403, 403, 403],
    ),
    // --- cohorts: no patient data, so every member sees them (and the owning company); the
    // secretariat manages them.
    cell("GET", "/api/v1/cohorts", None, ALL_200),
    cell("GET", "/api/v1/cohorts/{own_cohort}", None, ALL_200),
    cell("GET", "/api/v1/cohorts/{member_cohort}", None, MEMBERS_200),
    cell(
        "GET",
        "/api/v1/cohorts/{member_cohort}/history",
        None,
        MEMBERS_200,
    ),
    cell(
        "POST",
        "/api/v1/cohorts",
        Some(
            r#"{"agreement_id": "{member_agreement}", "drug_id": "{member_drug}", "tumour_type": "Tumour {n}", "alteration": "ALK"}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/cohorts/{member_cohort}/open-expansion",
        Some(r#"{"size": 5, "reason": "Cell {n}"}"#),
        [409, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/cohorts/{spare_cohort}/close",
        Some(r#"{"reason": "Cell {n}"}"#),
        [200, 403, 403, 404, 404, 404],
    ),
    // --- bodies: every member of the consortium sees them; the secretariat keeps them. A body's
    // members are seen by its members (anyone with a seat sees the body too) and managed by its
    // chair, co-chair or secretary. The caller's person sits in `{seated_body}` (a member; the
    // observer as observer) and chairs `{chaired_body}` (the observer only observes it).
    cell(
        "GET",
        "/api/v1/bodies",
        None,
        [200, 200, 200, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/bodies",
        Some(r#"{"kind": "other", "name": "Body {n}"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell("GET", "/api/v1/bodies/{body}", None, MEMBERS_200),
    cell("GET", "/api/v1/bodies/{seated_body}", None, ALL_200),
    cell("GET", "/api/v1/bodies/{missing}", None, [404; 6]),
    cell(
        "PATCH",
        "/api/v1/bodies/{body}",
        Some(r#"{"mandate": "Edited {n}"}"#),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "GET",
        "/api/v1/bodies/{body}/members",
        None,
        [200, 403, 403, 404, 404, 404],
    ),
    cell("GET", "/api/v1/bodies/{seated_body}/members", None, ALL_200),
    cell(
        "POST",
        "/api/v1/bodies/{body}/members",
        Some(r#"{"person_id": "{fresh_member_person}", "role": "member"}"#),
        [201, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/bodies/{seated_body}/members",
        Some(r#"{"person_id": "{fresh_own_person}", "role": "observer"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/bodies/{chaired_body}/members",
        Some(r#"{"person_id": "{fresh_own_person}", "role": "observer"}"#),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "GET",
        "/api/v1/bodies/{body}/members/{body_seat}",
        None,
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "GET",
        "/api/v1/bodies/{seated_body}/members/{seated_seat}",
        None,
        ALL_200,
    ),
    cell(
        "PATCH",
        "/api/v1/bodies/{body}/members/{body_seat}",
        Some(r#"{"to_date": "2099-12-31"}"#),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "PATCH",
        "/api/v1/bodies/{chaired_body}/members/{chaired_seat}",
        Some(r#"{"to_date": "2099-12-31"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell("GET", "/api/v1/people/{own_person}/bodies", None, ALL_200),
    cell(
        "GET",
        "/api/v1/people/{member_person}/bodies",
        None,
        MEMBERS_200,
    ),
    cell(
        "GET",
        "/api/v1/people/{applicant_person}/bodies",
        None,
        HIDDEN,
    ),
    cell("GET", "/api/v1/me/bodies", None, ALL_200),
    // --- decisions: seen by the body's members and the secretariat (others: 404), managed by
    // its chair, co-chair or secretary; voted on by the voters fixed at the opening whose
    // organisation is a partner. `{seated_decision}` is open in `{seated_body}`;
    // `{chaired_decision}` and `{chaired_spare}` are proposed in `{chaired_body}`;
    // `{body_decision}` is proposed in `{body}`.
    cell("GET", "/api/v1/decisions", None, ALL_200),
    cell(
        "POST",
        "/api/v1/decisions",
        Some(
            r#"{"body_id": "{chaired_body}", "title": "Cell {n}", "text": "x", "kind": "resolution"}"#,
        ),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "POST",
        "/api/v1/decisions",
        Some(r#"{"body_id": "{body}", "title": "Cell {n}", "text": "x", "kind": "resolution"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell("GET", "/api/v1/decisions/{seated_decision}", None, ALL_200),
    cell("GET", "/api/v1/decisions/{body_decision}", None, HIDDEN),
    cell("GET", "/api/v1/decisions/{missing}", None, [404; 6]),
    cell(
        "PATCH",
        "/api/v1/decisions/{body_decision}",
        Some(TITLE),
        HIDDEN,
    ),
    cell(
        "PATCH",
        "/api/v1/decisions/{chaired_decision}",
        Some(r#"{"title": "Edited {n}"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "POST",
        "/api/v1/decisions/{chaired_decision}/open",
        Some(r#"{"deadline": "2099-01-01T00:00:00Z"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "POST",
        "/api/v1/decisions/{chaired_decision}/close",
        None,
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "POST",
        "/api/v1/decisions/{chaired_spare}/withdraw",
        Some(r#"{"reason": "Cell {n}"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "PUT",
        "/api/v1/decisions/{seated_decision}/vote",
        Some(r#"{"choice": "yes"}"#),
        [403, 200, 403, 403, 403, 403],
    ),
    cell(
        "PUT",
        "/api/v1/decisions/{body_decision}/vote",
        Some(r#"{"choice": "yes"}"#),
        [409, 404, 404, 404, 404, 404],
    ),
    cell(
        "GET",
        "/api/v1/decisions/{seated_decision}/votes",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/decisions/{body_decision}/votes",
        None,
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/decisions/{seated_decision}/recusals",
        Some(r#"{"reason": "Cell {n}"}"#),
        [403, 200, 403, 403, 403, 403],
    ),
    // --- meetings: a body's meetings are seen by its members, its invitees and the secretariat
    // (others: 404) and managed by its chair, co-chair or secretary; open events are seen by
    // every member of the consortium and managed by the secretariat. The caller's person is
    // invited to `{seated_meeting}` and `{chaired_meeting}` (as each body's member).
    cell("GET", "/api/v1/meetings", None, ALL_200),
    cell(
        "POST",
        "/api/v1/meetings",
        Some(
            r#"{"body_id": "{chaired_body}", "title": "Cell {n}", "start": "2030-01-07T10:00:00", "end": "2030-01-07T11:00:00"}"#,
        ),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "POST",
        "/api/v1/meetings",
        Some(
            r#"{"body_id": "{body}", "title": "Cell {n}", "start": "2030-01-07T10:00:00", "end": "2030-01-07T11:00:00"}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/meetings",
        Some(
            r#"{"kind": "open_event", "title": "Cell {n}", "start": "2030-08-14T10:00:00", "end": "2030-08-14T11:00:00"}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell("GET", "/api/v1/meetings/{seated_meeting}", None, ALL_200),
    cell("GET", "/api/v1/meetings/{body_meeting}", None, HIDDEN),
    cell("GET", "/api/v1/meetings/{open_event}", None, MEMBERS_200),
    cell("GET", "/api/v1/meetings/{missing}", None, [404; 6]),
    // Open events: registrants are personal data, for the secretariat only (members who see
    // the event get 403, the others 404).
    cell(
        "GET",
        "/api/v1/meetings/{open_event}/registrations",
        None,
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{open_event}/registrations/{missing}/cancel",
        None,
        [404, 403, 403, 404, 404, 404],
    ),
    // Series: a meeting that is no series has no occurrences (404 before any other rule).
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}/occurrences",
        None,
        [404; 6],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{seated_meeting}/occurrences/{occurrence_start}",
        Some("{}"),
        [404; 6],
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{seated_meeting}/occurrences/{occurrence_start}",
        Some(TITLE),
        [404; 6],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{seated_meeting}/occurrences/{occurrence_start}/cancel",
        Some("{}"),
        [404; 6],
    ),
    cell(
        "GET",
        "/api/v1/meetings/free-slots?person_id={member_person}&duration_minutes=60&from=2030-01-07&to=2030-01-08",
        None,
        [200, 200, 200, 422, 422, 422],
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{chaired_meeting}",
        Some(r#"{"title": "Edited {n}"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{body_meeting}",
        Some(TITLE),
        HIDDEN,
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{open_event}",
        Some(r#"{"title": "Edited {n}"}"#),
        [200, 403, 403, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{chaired_spare_meeting}/cancel",
        Some(r#"{"reason": "Cell {n}"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{body_meeting}/cancel",
        Some(r#"{"reason": "Cell {n}"}"#),
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}/invitees",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/invitees",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{chaired_meeting}/invitees/{chaired_invitee}",
        None,
        ALL_200,
    ),
    cell(
        "POST",
        "/api/v1/meetings/{chaired_meeting}/invitees",
        Some(r#"{"name": "Guest {n}", "email": "guest{n}@example.org"}"#),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{seated_meeting}/invitees",
        Some(r#"{"name": "Guest {n}", "email": "guest{n}@example.org"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "DELETE",
        "/api/v1/meetings/{chaired_meeting}/invitees/{chaired_invitee}",
        None,
        [204, 204, 403, 204, 204, 204],
    ),
    cell(
        "PUT",
        "/api/v1/meetings/{seated_meeting}/rsvp",
        Some(r#"{"response": "accepted"}"#),
        [403, 200, 200, 200, 200, 200],
    ),
    cell(
        "PUT",
        "/api/v1/meetings/{body_meeting}/rsvp",
        Some(r#"{"response": "accepted"}"#),
        [403, 404, 404, 404, 404, 404],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}.ics",
        None,
        ALL_200,
    ),
    cell("GET", "/api/v1/meetings/{body_meeting}.ics", None, HIDDEN),
    // --- scheduling polls: seen by their managers (the secretariat, the body's chair, co-chair
    // or secretary), their creator and their participants (others: 404); answered by the
    // participants; closed and scheduled by the managers. The caller's person is asked in
    // `{chaired_poll}`, `{chaired_spare_poll}` and `{body_poll}`, not in `{hidden_poll}`.
    cell("GET", "/api/v1/scheduling-polls", None, ALL_200),
    cell(
        "POST",
        "/api/v1/scheduling-polls",
        Some(
            r#"{"body_id": "{chaired_body}", "title": "Cell {n}", "slots": [{"start": "2030-01-09T10:00:00", "end": "2030-01-09T11:00:00"}], "guests": [{"name": "Guest {n}", "email": "guest{n}@example.org"}]}"#,
        ),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls",
        Some(
            r#"{"body_id": "{body}", "title": "Cell {n}", "slots": [{"start": "2030-01-09T10:00:00", "end": "2030-01-09T11:00:00"}], "guests": [{"name": "Guest {n}", "email": "guest{n}@example.org"}]}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls",
        Some(
            r#"{"title": "Cell {n}", "slots": [{"start": "2030-01-09T10:00:00", "end": "2030-01-09T11:00:00"}], "guests": [{"name": "Guest {n}", "email": "guest{n}@example.org"}]}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "GET",
        "/api/v1/scheduling-polls/{chaired_poll}",
        None,
        ALL_200,
    ),
    cell("GET", "/api/v1/scheduling-polls/{body_poll}", None, ALL_200),
    cell(
        "GET",
        "/api/v1/scheduling-polls/{hidden_poll}",
        None,
        HIDDEN,
    ),
    cell(
        "PUT",
        "/api/v1/scheduling-polls/{chaired_poll}/answers",
        Some(r#"{"answers": {"{chaired_poll_slot}": "yes"}}"#),
        [403, 200, 200, 200, 200, 200],
    ),
    cell(
        "PUT",
        "/api/v1/scheduling-polls/{hidden_poll}/answers",
        Some(r#"{"answers": {"{hidden_poll_slot}": "yes"}}"#),
        [403, 404, 404, 404, 404, 404],
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls/{hidden_poll}/close",
        None,
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls/{body_poll}/close",
        None,
        [200, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls/{body_poll}/schedule",
        Some(r#"{"slot_id": "{body_poll_slot}"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/scheduling-polls/{chaired_spare_poll}/schedule",
        Some(r#"{"slot_id": "{chaired_spare_poll_slot}", "place": "Cell {n}"}"#),
        [201, 201, 403, 201, 201, 201],
    ),
    // --- a meeting's proceedings: read by whoever sees the meeting; the agenda, minutes,
    // attendance and action items changed by those who manage it; minutes approved by the
    // body's chair or co-chair or the secretariat. `{chaired_past_meeting}` has started.
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}/agenda-items",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/agenda-items",
        None,
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/meetings/{chaired_meeting}/agenda-items",
        Some(r#"{"title": "Cell {n}", "duration_minutes": 10}"#),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{seated_meeting}/agenda-items",
        Some(r#"{"title": "Cell {n}"}"#),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{chaired_meeting}/agenda-items/{chaired_agenda_item}",
        None,
        ALL_200,
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{chaired_meeting}/agenda-items/{chaired_agenda_item}",
        Some(r#"{"title": "Edited {n}", "position": 1}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "DELETE",
        "/api/v1/meetings/{chaired_meeting}/agenda-items/{chaired_agenda_item}",
        None,
        [204, 204, 403, 204, 204, 204],
    ),
    cell(
        "PUT",
        "/api/v1/meetings/{chaired_past_meeting}/minutes",
        Some(r#"{"body": "Cell {n}"}"#),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{chaired_past_meeting}/minutes",
        None,
        // The observer drafted none (403 above): none to read.
        [200, 200, 404, 200, 200, 200],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/minutes",
        None,
        [404; 6],
    ),
    cell(
        "POST",
        "/api/v1/meetings/{chaired_past_meeting}/minutes/approve",
        Some("{}"),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{chaired_past_meeting}/attendance",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/attendance",
        None,
        HIDDEN,
    ),
    cell(
        "PUT",
        "/api/v1/meetings/{chaired_past_meeting}/attendance",
        Some(r#"{"items": [{"invitee_id": "{chaired_past_invitee}", "attendance": "present"}]}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}/decisions",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/decisions",
        None,
        HIDDEN,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{seated_meeting}/action-items",
        None,
        ALL_200,
    ),
    cell(
        "GET",
        "/api/v1/meetings/{body_meeting}/action-items",
        None,
        HIDDEN,
    ),
    cell(
        "POST",
        "/api/v1/meetings/{chaired_meeting}/action-items",
        Some(
            r#"{"title": "Cell {n}", "owner_person_id": "{member_person}", "due_on": "2030-01-08"}"#,
        ),
        [201, 201, 403, 201, 201, 201],
    ),
    cell(
        "GET",
        "/api/v1/meetings/{chaired_meeting}/action-items/{chaired_action_item}",
        None,
        ALL_200,
    ),
    cell(
        "PATCH",
        "/api/v1/meetings/{chaired_meeting}/action-items/{chaired_action_item}",
        Some(r#"{"status": "done"}"#),
        [200, 200, 403, 200, 200, 200],
    ),
    cell("GET", "/api/v1/me/action-items", None, ALL_200),
    // --- users (admin only, even for one's own account)
    cell("GET", "/api/v1/users", None, ADMIN_200),
    cell("GET", "/api/v1/users/{user}", None, ADMIN_200),
    cell("GET", "/api/v1/users/{me}", None, ADMIN_200),
    cell(
        "POST",
        "/api/v1/users",
        Some(
            r#"{"email": "user{n}@users.test", "display_name": "New user", "role": "partner_representative",
                "organisation_id": "{member}", "password": "representative-password-1"}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "PATCH",
        "/api/v1/users/{user}",
        Some(r#"{"display_name": "Renamed"}"#),
        ADMIN_200,
    ),
    cell("POST", "/api/v1/users/{user}/deactivate", None, ADMIN_200),
    cell("POST", "/api/v1/users/{user}/reactivate", None, ADMIN_200),
    // --- audit (admin only)
    cell("GET", "/api/v1/audit-events", None, ADMIN_200),
    cell(
        "GET",
        "/api/v1/audit-events?record_id={own}",
        None,
        ADMIN_200,
    ),
    // --- invitations (admin only)
    cell("GET", "/api/v1/invitations", None, ADMIN_200),
    cell(
        "POST",
        "/api/v1/invitations",
        Some(
            r#"{"email": "invited{n}@mike.test", "role": "partner_representative",
                "organisation_id": "{member}", "language": "en"}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell(
        "POST",
        "/api/v1/invitations/{invitation}/revoke",
        None,
        ADMIN_200,
    ),
    // --- notifications: each their own; retrying is the admin's
    cell("GET", "/api/v1/notifications", None, ALL_200),
    cell("GET", "/api/v1/notifications/{notification}", None, HIDDEN),
    cell(
        "POST",
        "/api/v1/notifications/{notification}/retry",
        None,
        [409, 403, 403, 403, 403, 403],
    ),
    // --- webhooks (admin only)
    cell("GET", "/api/v1/webhooks", None, ADMIN_200),
    cell(
        "POST",
        "/api/v1/webhooks",
        Some(
            r#"{"url": "http://127.0.0.1:9/matrix{n}", "events": ["decision.closed"], "active": false}"#,
        ),
        [201, 403, 403, 403, 403, 403],
    ),
    cell("GET", "/api/v1/webhooks/{webhook}", None, ADMIN_200),
    cell(
        "PATCH",
        "/api/v1/webhooks/{webhook}",
        Some(r#"{"description": "Edited"}"#),
        ADMIN_200,
    ),
    cell(
        "POST",
        "/api/v1/webhooks/{webhook}/rotate-secret",
        None,
        ADMIN_200,
    ),
    cell(
        "POST",
        "/api/v1/webhooks/{webhook}/test",
        None,
        [202, 403, 403, 403, 403, 403],
    ),
    cell(
        "GET",
        "/api/v1/webhooks/{webhook}/deliveries",
        None,
        ADMIN_200,
    ),
    cell(
        "GET",
        "/api/v1/webhooks/{webhook}/deliveries/{webhook_delivery}",
        None,
        ADMIN_200,
    ),
    // Pending (the subscription is inactive): only a delivered or failed one is sent again.
    cell(
        "POST",
        "/api/v1/webhooks/{webhook}/deliveries/{webhook_delivery}/retry",
        None,
        [409, 403, 403, 403, 403, 403],
    ),
    cell(
        "DELETE",
        "/api/v1/webhooks/{spare_webhook}",
        None,
        [204, 403, 403, 403, 403, 403],
    ),
    // --- everyone's own
    cell("GET", "/api/v1/me", None, ALL_200),
    cell("GET", "/api/v1/me/notification-preferences", None, ALL_200),
    // A feed is a person's: the admin's account is linked to none.
    cell(
        "GET",
        "/api/v1/me/calendar-feed",
        None,
        [403, 200, 200, 200, 200, 200],
    ),
    cell(
        "POST",
        "/api/v1/me/calendar-feed",
        None,
        [403, 201, 201, 201, 201, 201],
    ),
    cell(
        "DELETE",
        "/api/v1/me/calendar-feed",
        None,
        [403, 204, 204, 204, 204, 204],
    ),
    cell(
        "PUT",
        "/api/v1/me/notification-preferences",
        Some(r#"{"language": "en", "membership_changed": true}"#),
        ALL_200,
    ),
    cell(
        "POST",
        "/api/v1/me/password",
        Some(
            r#"{"current_password": "not the password", "new_password": "a new and long passphrase 1"}"#,
        ),
        [422; 6],
    ),
    cell("GET", "/api/v1/api-tokens", None, ALL_200),
    cell(
        "POST",
        "/api/v1/api-tokens",
        Some(r#"{"name": "matrix{n}", "scopes": ["organisations:read"]}"#),
        [201; 6],
    ),
    cell("DELETE", "/api/v1/api-tokens/{missing}", None, [404; 6]),
];

/// Operations that take no credential: the same answer for everyone, given these requests.
const PUBLIC: &[Cell] = &[
    cell("GET", "/healthz", None, [200; 6]),
    // Open events for the public: no account needed.
    cell("GET", "/api/v1/events", None, [200; 6]),
    // Sent as written: `{id}` is no UUID (400 to everyone).
    cell("GET", "/api/v1/events/{id}", None, [400; 6]),
    cell(
        "POST",
        "/api/v1/events/{id}/registrations",
        Some(r#"{"name": "Nobody", "email": "nobody@example.org"}"#),
        [400; 6],
    ),
    cell(
        "GET",
        "/api/v1/event-registrations/cancel/{token}",
        None,
        [404; 6],
    ),
    cell(
        "POST",
        "/api/v1/event-registrations/cancel",
        Some(r#"{"token": "forged"}"#),
        [404; 6],
    ),
    cell("GET", "/readyz", None, [200; 6]),
    cell("GET", "/metrics", None, [200; 6]),
    cell(
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"email": "nobody@example.org", "password": "wrong password"}"#),
        [401; 6],
    ),
    cell(
        "POST",
        "/api/v1/auth/refresh",
        Some(r#"{"refresh_token": "not-a-refresh-token"}"#),
        [401; 6],
    ),
    cell(
        "POST",
        "/api/v1/auth/logout",
        Some(r#"{"refresh_token": "not-a-refresh-token"}"#),
        [204; 6],
    ),
    cell(
        "POST",
        "/api/v1/auth/password-reset",
        Some(r#"{"email": "nobody@example.org"}"#),
        [202; 6],
    ),
    cell(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        Some(r#"{"token": "not-a-reset-token", "new_password": "a new and long passphrase 1"}"#),
        [404; 6],
    ),
    cell("GET", "/api/v1/invitations/{token}", None, [404; 6]),
    cell(
        "POST",
        "/api/v1/invitations/{token}/accept",
        Some(r#"{"display_name": "Kari", "password": "a long and private passphrase"}"#),
        [404; 6],
    ),
    cell("GET", "/api/v1/meeting-answers/{token}", None, [404; 6]),
    cell("GET", "/api/v1/poll-answers/{token}", None, [404; 6]),
    cell(
        "PUT",
        "/api/v1/poll-answers/{token}",
        Some(r#"{"answers": {"01937c4e-aaaa-7000-8000-000000000101": "yes"}}"#),
        [404; 6],
    ),
    cell("GET", "/api/v1/calendar/{feed_token}.ics", None, [404; 6]),
    cell(
        "POST",
        "/api/v1/meeting-answers",
        Some(r#"{"token": "not-a-link", "response": "accepted"}"#),
        [404; 6],
    ),
];

/// `(METHOD, /path/with/{}/for/each/parameter)`, without the query.
fn operation(method: &str, path: &str) -> (String, String) {
    let path = path.split('?').next().unwrap();
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            c => out.push(c),
        }
    }
    (method.to_uppercase(), out)
}

/// The matrix covers every operation of the committed spec, and names no operation the spec lacks:
/// a new route without its row fails here.
#[test]
fn the_matrix_covers_every_operation_of_the_spec() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let mut in_spec = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                in_spec.insert(operation(method, path));
            }
        }
    }
    let in_matrix: std::collections::BTreeSet<_> = MATRIX
        .iter()
        .chain(PUBLIC)
        .map(|c| operation(c.method, c.path))
        .collect();
    let missing: Vec<_> = in_spec.difference(&in_matrix).collect();
    let unknown: Vec<_> = in_matrix.difference(&in_spec).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "operations without a row in the policy matrix: {missing:?}\nrows for operations the spec lacks: {unknown:?}"
    );
    assert!(in_spec.len() >= 44, "the spec was read: {}", in_spec.len());
}

#[tokio::test]
async fn operations_without_a_credential_answer_the_same_to_everyone() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for c in PUBLIC {
        let body = c.body.map(|b| serde_json::from_str::<Value>(b).unwrap());
        let method = Method::from_bytes(c.method.as_bytes()).unwrap();
        let mut req = app
            .client
            .request(method, format!("{}{}", app.address, c.path));
        if let Some(b) = &body {
            req = req.json(b);
        }
        let status = req.send().await.unwrap().status().as_u16();
        if status != c.expect[0] {
            failures.push(format!(
                "{} {}: got {status}, expected {}",
                c.method, c.path, c.expect[0]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Created by the admin; hidden from everyone else.
const HIDDEN_CREATED: [u16; 6] = [201, 404, 404, 404, 404, 404];

/// The fixtures a row runs against, and the caller.
struct World {
    app: TestApp,
    admin: String,
    token: String,
    vars: HashMap<&'static str, String>,
    counter: usize,
}

async fn org_with_status(app: &TestApp, admin: &str, name: &str, status: &str) -> String {
    let id = id_of(&app.create_org(admin, name, "pharma").await);
    app.set_status(admin, &id, status).await;
    id
}

async fn world(role: &str) -> World {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut vars: HashMap<&'static str, String> = HashMap::new();

    let member = org_with_status(&app, &admin, "Mike", "partner").await;
    let applicant = org_with_status(&app, &admin, "Papa", "applicant").await;
    let disposable = org_with_status(&app, &admin, "Delta", "partner").await;
    let spare = org_with_status(&app, &admin, "Sierra", "partner").await;
    let res = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": "Tango", "kind": "hospital", "sector": "public", "health_region": "north", "trial_site": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let trial = id_of(&res.json::<Value>().await.unwrap());
    let archived = org_with_status(&app, &admin, "Xray", "partner").await;

    let person = |org: String, email: &'static str| {
        let app = &app;
        let admin = &admin;
        async move { id_of(&app.create_contact(admin, Some(&org), "Person", email).await) }
    };
    vars.insert("member_person", person(member.clone(), "p@mike.test").await);
    vars.insert(
        "applicant_person",
        person(applicant.clone(), "p@papa.test").await,
    );
    vars.insert("trial_person", person(trial.clone(), "p@tango.test").await);
    app.create_contact(&admin, Some(&archived), "Person", "p@xray.test")
        .await;
    let path = format!("/api/v1/organisations/{archived}");
    let res = app
        .delete(&path, &admin, Some(&app.current_etag(&path, &admin).await))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let other_user = app
        .create_user(
            &admin,
            "other@mike.test",
            "partner_representative",
            Some(&member),
        )
        .await;
    vars.insert("user", id_of(&other_user));

    // An invitation (to revoke) and the notification it queued (someone else's message).
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "invitee@mike.test", "role": "partner_representative",
                    "organisation_id": member, "language": "en"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    vars.insert("invitation", id_of(&res.json::<Value>().await.unwrap()));
    let queued = app
        .list_items("/api/v1/notifications?recipient=invitee@mike.test", &admin)
        .await;
    vars.insert("notification", id_of(&queued[0]));

    // Webhook subscriptions, inactive so their test deliveries stay pending, and one delivery.
    for (name, url) in [
        ("webhook", "http://127.0.0.1:9/matrix"),
        ("spare_webhook", "http://127.0.0.1:9/spare"),
    ] {
        let sub = expect(
            app.post(
                "/api/v1/webhooks",
                &admin,
                &json!({"url": url, "events": ["meeting.cancelled"], "active": false}),
            )
            .await,
            201,
        )
        .await;
        vars.insert(name, id_of(&sub["subscription"]));
    }
    let test = expect(
        app.post(
            &format!("/api/v1/webhooks/{}/test", vars["webhook"]),
            &admin,
            &json!({}),
        )
        .await,
        202,
    )
    .await;
    vars.insert("webhook_delivery", id_of(&test));

    let (token, own, me) = if role == "admin" {
        let me = app.me(&admin).await["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (admin.clone(), spare, me)
    } else {
        let rep = app.rep(&admin, "Own", role).await;
        (rep.token, rep.organisation_id, rep.user_id)
    };
    vars.insert("own_person", person(own.clone(), "p@own.test").await);
    let drug = |org: String, name: &'static str, status: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let res = app
                .post(
                    "/api/v1/drugs",
                    admin,
                    &json!({"organisation_id": org, "generic_name": name, "status": status,
                            "available_from": "2026-01-01"}),
                )
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            id_of(&res.json::<Value>().await.unwrap())
        }
    };
    vars.insert("own_drug", drug(own.clone(), "ownatinib", "proposed").await);
    vars.insert(
        "member_drug",
        drug(member.clone(), "mikatinib", "available").await,
    );
    vars.insert(
        "member_proposed_drug",
        drug(member.clone(), "mikanib", "proposed").await,
    );
    let own_spare_drug = drug(own.clone(), "sparatinib", "proposed").await;
    let own_drug = vars["own_drug"].clone();
    let member_drug = vars["member_drug"].clone();
    let post = |path: String, body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let res = app.post(&path, admin, &body).await;
            assert!(
                res.status().is_success(),
                "{path}: {}",
                res.text().await.unwrap()
            );
            res.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    let agreement = |org: String, reference: &'static str, drug: String| {
        let post = &post;
        async move {
            let a = post(
                "/api/v1/agreements".into(),
                json!({"organisation_id": org, "reference": reference, "title": "Supply",
                       "effective_from": "2026-01-01", "patient_cap": 50}),
            )
            .await;
            let id = id_of(&a);
            post(
                format!("/api/v1/agreements/{id}/drugs"),
                json!({"drug_id": drug}),
            )
            .await;
            id
        }
    };
    let own_agreement = agreement(own.clone(), "OWN-DRAFT", own_drug.clone()).await;
    let own_submitted = agreement(own.clone(), "OWN-SUBMITTED", own_drug.clone()).await;
    post(
        format!("/api/v1/agreements/{own_submitted}/submit"),
        json!({}),
    )
    .await;
    let member_agreement = agreement(member.clone(), "MIKE-ACTIVE", member_drug.clone()).await;
    post(
        format!("/api/v1/agreements/{member_agreement}/submit"),
        json!({}),
    )
    .await;
    post(
        format!("/api/v1/agreements/{member_agreement}/activate"),
        json!({}),
    )
    .await;
    let cohort = |agreement: String, drug: String, tumour: &'static str| {
        let post = &post;
        async move {
            id_of(
                &post(
                    "/api/v1/cohorts".into(),
                    json!({"agreement_id": agreement, "drug_id": drug, "tumour_type": tumour,
                           "alteration": "ALK"}),
                )
                .await,
            )
        }
    };
    let own_cohort = cohort(own_agreement.clone(), own_drug, "own").await;
    let member_cohort = cohort(member_agreement.clone(), member_drug.clone(), "member").await;
    let spare_cohort = cohort(member_agreement.clone(), member_drug.clone(), "spare").await;
    let allocation = |code: &'static str| {
        let post = &post;
        let (agreement, drug, site, cohort) =
            (&member_agreement, &member_drug, &trial, &member_cohort);
        async move {
            id_of(
                &post(
                    format!("/api/v1/agreements/{agreement}/allocations"),
                    json!({"trial_code": code, "drug_id": drug, "site_id": site,
                           "cohort_id": cohort, "started_on": "2026-01-05"}),
                )
                .await,
            )
        }
    };
    vars.insert("member_allocation", allocation("WORLD-1").await);
    vars.insert("spare_allocation", allocation("WORLD-2").await);
    // Bodies: the caller's person (linked to their account) sits in one and chairs another.
    let own_person = vars["own_person"].clone();
    if role != "admin" {
        let path = format!("/api/v1/users/{me}");
        let res = app
            .patch(
                &path,
                &admin,
                Some(&app.current_etag(&path, &admin).await),
                &json!({"person_id": own_person}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let body = |name: &'static str| {
        let post = &post;
        async move {
            id_of(
                &post(
                    "/api/v1/bodies".into(),
                    json!({"kind": "working_group", "name": name}),
                )
                .await,
            )
        }
    };
    let seat = |body: String, person: String, role: &'static str| {
        let post = &post;
        async move {
            id_of(
                &post(
                    format!("/api/v1/bodies/{body}/members"),
                    json!({"person_id": person, "role": role}),
                )
                .await,
            )
        }
    };
    let (own_role, own_chair) = if role == "observer" {
        ("observer", "observer")
    } else {
        ("member", "chair")
    };
    let any_body = body("Unseated").await;
    let seated_body = body("Seated").await;
    let chaired_body = body("Chaired").await;
    let member_person = vars["member_person"].clone();
    if role != "admin" {
        seat(seated_body.clone(), own_person.clone(), own_role).await;
        seat(chaired_body.clone(), own_person.clone(), own_chair).await;
    }
    vars.insert(
        "body_seat",
        seat(any_body.clone(), member_person.clone(), "member").await,
    );
    vars.insert(
        "seated_seat",
        seat(seated_body.clone(), member_person.clone(), "member").await,
    );
    vars.insert(
        "chaired_seat",
        seat(chaired_body.clone(), member_person, "member").await,
    );
    // Decisions: a proposal in the unseated body, two in the chaired one (one for the PATCH, open
    // and close cells, one to withdraw), and an open vote in the seated one.
    let decision = |body: String, title: &'static str| {
        let post = &post;
        async move {
            id_of(
                &post(
                    "/api/v1/decisions".into(),
                    json!({"body_id": body, "title": title, "text": "x", "kind": "resolution"}),
                )
                .await,
            )
        }
    };
    vars.insert(
        "body_decision",
        decision(any_body.clone(), "Unseated").await,
    );
    vars.insert(
        "chaired_decision",
        decision(chaired_body.clone(), "Chaired").await,
    );
    vars.insert(
        "chaired_spare",
        decision(chaired_body.clone(), "Spare").await,
    );
    let seated_decision = decision(seated_body.clone(), "Seated").await;
    post(
        format!("/api/v1/decisions/{seated_decision}/open"),
        json!({"deadline": "2099-01-01T00:00:00Z"}),
    )
    .await;
    vars.insert("seated_decision", seated_decision);
    // Meetings: one in each body (the seated and chaired ones invite the caller's person), a
    // spare one to cancel, a guest to uninvite, and an open event.
    let meeting = |body: Option<String>, title: &'static str| {
        let post = &post;
        async move {
            let mut req = json!({"title": title, "start": "2030-01-07T10:00:00",
                                 "end": "2030-01-07T11:00:00"});
            match body {
                Some(body) => req["body_id"] = json!(body),
                None => req["kind"] = json!("open_event"),
            }
            id_of(&post("/api/v1/meetings".into(), req).await)
        }
    };
    vars.insert(
        "body_meeting",
        meeting(Some(any_body.clone()), "Unseated").await,
    );
    vars.insert(
        "seated_meeting",
        meeting(Some(seated_body.clone()), "Seated").await,
    );
    let chaired_meeting = meeting(Some(chaired_body.clone()), "Chaired").await;
    vars.insert(
        "chaired_spare_meeting",
        meeting(Some(chaired_body.clone()), "Spare").await,
    );
    vars.insert("open_event", meeting(None, "Open").await);
    vars.insert(
        "chaired_invitee",
        id_of(
            &post(
                format!("/api/v1/meetings/{chaired_meeting}/invitees"),
                json!({"name": "Spare Guest", "email": "spare.guest@example.org"}),
            )
            .await,
        ),
    );
    // Proceedings: an agenda item and an action item of the chaired meeting, and a chaired
    // meeting that has started, with a guest whose attendance a row records.
    vars.insert(
        "chaired_agenda_item",
        id_of(
            &post(
                format!("/api/v1/meetings/{chaired_meeting}/agenda-items"),
                json!({"title": "Spare item"}),
            )
            .await,
        ),
    );
    vars.insert(
        "chaired_action_item",
        id_of(
            &post(
                format!("/api/v1/meetings/{chaired_meeting}/action-items"),
                json!({"title": "Spare task", "owner_person_id": vars["member_person"],
                       "due_on": "2030-01-08"}),
            )
            .await,
        ),
    );
    let past = id_of(
        &post(
            "/api/v1/meetings".into(),
            json!({"body_id": chaired_body, "title": "Held", "start": "2020-01-07T10:00:00",
                   "end": "2020-01-07T11:00:00"}),
        )
        .await,
    );
    vars.insert(
        "chaired_past_invitee",
        id_of(
            &post(
                format!("/api/v1/meetings/{past}/invitees"),
                json!({"name": "Past Guest", "email": "past.guest@example.org"}),
            )
            .await,
        ),
    );
    vars.insert("chaired_past_meeting", past);
    vars.insert("chaired_meeting", chaired_meeting);
    // Scheduling polls: in the chaired body, one asking the caller's person and a spare one a
    // row schedules; in the unseated body one asking the caller's person (a row closes and
    // schedules it) and one asking someone else.
    let poll = |body: String, person: String, title: &'static str| {
        let post = &post;
        async move {
            let p = post(
                "/api/v1/scheduling-polls".into(),
                json!({"body_id": body, "title": title, "people": [person],
                       "slots": [{"start": "2030-01-08T10:00:00", "end": "2030-01-08T11:00:00"}]}),
            )
            .await;
            (id_of(&p), p["slots"][0]["id"].as_str().unwrap().to_owned())
        }
    };
    let someone_else = vars["member_person"].clone();
    for (key, slot_key, body, person) in [
        (
            "chaired_poll",
            "chaired_poll_slot",
            &chaired_body,
            &own_person,
        ),
        (
            "chaired_spare_poll",
            "chaired_spare_poll_slot",
            &chaired_body,
            &own_person,
        ),
        ("body_poll", "body_poll_slot", &any_body, &own_person),
        ("hidden_poll", "hidden_poll_slot", &any_body, &someone_else),
    ] {
        let (id, slot) = poll(body.clone(), person.clone(), "Poll").await;
        vars.insert(slot_key, slot);
        vars.insert(key, id);
    }
    vars.insert("occurrence_start", "2030-01-07T09:00:00Z".to_owned());
    vars.insert("body", any_body);
    vars.insert("seated_body", seated_body);
    vars.insert("chaired_body", chaired_body);
    vars.insert("own_spare_drug", own_spare_drug);
    vars.insert("own_agreement", own_agreement);
    vars.insert("own_submitted", own_submitted);
    vars.insert("member_agreement", member_agreement);
    vars.insert("own_cohort", own_cohort);
    vars.insert("member_cohort", member_cohort);
    vars.insert("spare_cohort", spare_cohort);
    vars.insert("own", own);
    vars.insert("me", me);
    vars.insert("member", member);
    vars.insert("applicant", applicant);
    vars.insert("disposable", disposable);
    vars.insert("trial", trial);
    vars.insert("archived", archived);
    vars.insert("missing", uuid::Uuid::now_v7().to_string());
    World {
        app,
        admin,
        token,
        vars,
        counter: 0,
    }
}

impl World {
    /// Fills the placeholders of a path or body, creating fresh contacts where asked.
    async fn fill(&mut self, template: &str) -> String {
        let mut out = template.to_owned();
        for (key, org) in [
            ("fresh_own_person", "own"),
            ("fresh_member_person", "member"),
            ("fresh_applicant_person", "applicant"),
        ] {
            let placeholder = format!("{{{key}}}");
            if out.contains(&placeholder) {
                self.counter += 1;
                let email = format!("fresh{}@people.test", self.counter);
                let org_id = self.vars[org].clone();
                let p = self
                    .app
                    .create_contact(&self.admin, Some(&org_id), "Fresh", &email)
                    .await;
                out = out.replace(&placeholder, &id_of(&p));
            }
        }
        self.counter += 1;
        out = out.replace("{n}", &self.counter.to_string());
        for (key, value) in &self.vars {
            out = out.replace(&format!("{{{key}}}"), value);
        }
        let unfilled = out
            .match_indices('{')
            .any(|(i, _)| out[i + 1..].starts_with(|c: char| c.is_ascii_lowercase()));
        assert!(!unfilled, "a placeholder is left: {out}");
        out
    }

    /// Runs every cell of the matrix for the role in column `col`; returns the mismatches.
    async fn run(&mut self, col: usize) -> Vec<String> {
        let mut failures = Vec::new();
        for c in MATRIX {
            let path = self.fill(c.path).await;
            let body = match c.body {
                Some(b) => Some(serde_json::from_str::<Value>(&self.fill(b).await).unwrap()),
                None => None,
            };
            let method = Method::from_bytes(c.method.as_bytes()).unwrap();
            // The record's current ETag, as the admin reads it (`"1"` for a missing one).
            let if_match = match c.method {
                "PATCH" | "DELETE" => Some(self.app.current_etag(&path, &self.admin).await),
                _ => None,
            };
            let res = self
                .app
                .send_json(
                    method,
                    &path,
                    &self.token,
                    if_match.as_deref(),
                    body.as_ref(),
                )
                .await;
            let status = res.status().as_u16();
            let expected = c.expect[col];
            let ct = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let text = res.text().await.unwrap();
            let label = format!("{} {} {}", ROLES[col], c.method, c.path);
            if status != expected {
                failures.push(format!(
                    "{label}: got {status}, expected {expected}: {text}"
                ));
                continue;
            }
            let slug = match status {
                403 => Some("forbidden"),
                404 => Some("not-found"),
                409 => Some("conflict"),
                _ => None,
            };
            if let Some(slug) = slug {
                let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                // A refused transition is a conflict of its own kind; so is a vote that is not
                // open, and a caller holding no vote is refused with a kind of its own.
                let kind_ok = problem["type"] == format!("/problems/{slug}")
                    || (status == 409 && problem["type"] == "/problems/invalid-transition")
                    || (status == 409 && problem["type"] == "/problems/voting-closed")
                    || (status == 403 && problem["type"] == "/problems/not-a-voter");
                if ct != "application/problem+json" || !kind_ok {
                    failures.push(format!("{label}: not a {slug} problem ({ct}): {text}"));
                }
            }
        }
        failures
    }
}

async fn run_row(role: &str, standing: &str) {
    let col = ROLES.iter().position(|r| *r == role).unwrap();
    let mut w = world(role).await;
    let failures = w.run(col).await;
    assert!(
        failures.is_empty(),
        "{} of {} cells wrong for {role}:\n{}",
        failures.len(),
        MATRIX.len(),
        failures.join("\n")
    );
    // The row left the shared fixtures as it found them.
    let admin = w.admin.clone();
    for key in ["member", "own"] {
        let org = w
            .app
            .get_ok(&format!("/api/v1/organisations/{}", w.vars[key]), &admin)
            .await;
        assert_eq!(org["archived_at"], Value::Null, "{key}");
    }
    let me = w.app.me(&w.token).await;
    assert_eq!(me["standing"], standing);
}

#[tokio::test]
async fn policy_matrix_admin_may_do_everything() {
    run_row("admin", "admin").await;
}

#[tokio::test]
async fn policy_matrix_partner_representative() {
    run_row("partner", "partner").await;
}

#[tokio::test]
async fn policy_matrix_observer_representative() {
    run_row("observer", "observer").await;
}

#[tokio::test]
async fn policy_matrix_applicant_representative() {
    run_row("applicant", "applicant").await;
}

#[tokio::test]
async fn policy_matrix_suspended_representative() {
    run_row("suspended", "inactive").await;
}

#[tokio::test]
async fn policy_matrix_withdrawn_representative() {
    run_row("withdrawn", "inactive").await;
}

#[tokio::test]
async fn every_route_of_the_matrix_answers_401_without_a_valid_credential() {
    let mut w = world("admin").await;
    let mut failures = Vec::new();
    for c in MATRIX {
        let path = w.fill(c.path).await;
        let body = match c.body {
            Some(b) => Some(serde_json::from_str::<Value>(&w.fill(b).await).unwrap()),
            None => None,
        };
        let method = Method::from_bytes(c.method.as_bytes()).unwrap();
        let if_match = matches!(c.method, "PATCH" | "DELETE").then_some("\"1\"");
        let res = w
            .app
            .send_json(method, &path, "not-a-token", if_match, body.as_ref())
            .await;
        if res.status() != StatusCode::UNAUTHORIZED {
            failures.push(format!("{} {}: {}", c.method, c.path, res.status()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Company A and company B

#[tokio::test]
async fn a_company_reads_a_partner_companys_records_but_cannot_edit_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.rep(&admin, "Alfa", "partner").await;
    let b = org_with_status(&app, &admin, "Bravo", "partner").await;
    let b_person = app
        .create_contact(&admin, Some(&b), "Berit", "berit@bravo.test")
        .await;
    let org_path = format!("/api/v1/organisations/{b}");
    let person_path = format!("/api/v1/people/{}", id_of(&b_person));

    assert_eq!(app.get(&org_path, &a.token).await.status(), StatusCode::OK);
    assert_problem(
        app.patch(
            &org_path,
            &a.token,
            Some(&app.current_etag(&org_path, &admin).await),
            &json!({"website": "https://a.example.org"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get(&person_path, &a.token).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.patch(
            &person_path,
            &a.token,
            Some(&app.current_etag(&person_path, &admin).await),
            &json!({"title": "Spy"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.delete(
            &person_path,
            &a.token,
            Some(&app.current_etag(&person_path, &admin).await),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let orgs = names_of(&app.list_items("/api/v1/organisations", &a.token).await);
    assert_eq!(orgs, ["Alfa", "Bravo"]);
    let people = names_of(&app.list_items("/api/v1/people", &a.token).await);
    assert_eq!(people, ["Berit"]);
    // Nothing changed.
    assert_eq!(app.get_ok(&org_path, &admin).await["version"], 2);
    assert_eq!(app.get_ok(&person_path, &admin).await["version"], 1);
}

#[tokio::test]
async fn a_company_cannot_see_an_applicant_company_and_its_404_reveals_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.rep(&admin, "Alfa", "partner").await;
    let b = org_with_status(&app, &admin, "Bravo", "applicant").await;
    let b_person = app
        .create_contact(&admin, Some(&b), "Berit", "berit@bravo.test")
        .await;
    let org_path = format!("/api/v1/organisations/{b}");
    let person_path = format!("/api/v1/people/{}", id_of(&b_person));
    let missing_org = format!("/api/v1/organisations/{}", uuid::Uuid::now_v7());
    let missing_person = format!("/api/v1/people/{}", uuid::Uuid::now_v7());

    let hidden = assert_problem(app.get(&org_path, &a.token).await, 404, "not-found").await;
    let absent = assert_problem(app.get(&missing_org, &a.token).await, 404, "not-found").await;
    assert_eq!(
        hidden, absent,
        "an invisible record answers like a missing one"
    );
    let change = json!({"website": "https://a.example.org"});
    let hidden = assert_problem(
        app.patch(
            &org_path,
            &a.token,
            Some(&app.current_etag(&org_path, &admin).await),
            &change,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let absent = assert_problem(
        app.patch(
            &missing_org,
            &a.token,
            Some(&app.current_etag(&missing_org, &admin).await),
            &change,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(hidden, absent);

    let hidden = assert_problem(app.get(&person_path, &a.token).await, 404, "not-found").await;
    let absent = assert_problem(app.get(&missing_person, &a.token).await, 404, "not-found").await;
    assert_eq!(hidden, absent);
    assert_problem(
        app.patch(
            &person_path,
            &a.token,
            Some(&app.current_etag(&person_path, &admin).await),
            &json!({"title": "Spy"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.delete(
            &person_path,
            &a.token,
            Some(&app.current_etag(&person_path, &admin).await),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get(&format!("{org_path}/people"), &a.token).await,
        404,
        "not-found",
    )
    .await;

    let orgs = names_of(&app.list_items("/api/v1/organisations", &a.token).await);
    assert_eq!(orgs, ["Alfa"]);
    let orgs = app
        .list_items("/api/v1/organisations?q=bravo", &a.token)
        .await;
    assert!(orgs.is_empty());
    assert!(app.list_items("/api/v1/people", &a.token).await.is_empty());
    let res = app.get_csv("/api/v1/people", &a.token).await;
    let text = res.text().await.unwrap();
    assert!(!text.contains("berit"), "{text}");

    // When B is admitted, A sees it at once.
    app.change_status(&admin, &b, "partner", "2024-06-01").await;
    assert_eq!(app.get(&org_path, &a.token).await.status(), StatusCode::OK);
    assert_eq!(
        app.get(&person_path, &a.token).await.status(),
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// Rights follow the organisation's current membership status

#[tokio::test]
async fn an_observer_that_becomes_a_partner_gains_partner_rights_with_the_same_token() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Helsedir", "observer").await;
    let me = app.me(&rep.token).await;
    assert_eq!(me["standing"], "observer");
    assert_eq!(me["can_read_consortium"], true);
    assert_eq!(me["can_write_consortium"], false);
    assert_eq!(me["user"]["role"], "observer_representative");

    app.change_status(&admin, &rep.organisation_id, "partner", "2024-06-01")
        .await;

    let me = app.me(&rep.token).await;
    assert_eq!(me["standing"], "partner");
    assert_eq!(me["can_read_consortium"], true);
    assert_eq!(me["can_write_consortium"], true);
    assert_eq!(me["organisation"]["membership_status"], "partner");
    assert_eq!(
        me["user"]["role"], "observer_representative",
        "no other change: the account is the same"
    );
    // And the profile is still theirs to edit.
    let res = app
        .patch(
            &format!("/api/v1/organisations/{}", rep.organisation_id),
            &rep.token,
            Some(
                &app.current_etag(
                    &format!("/api/v1/organisations/{}", rep.organisation_id),
                    &admin,
                )
                .await,
            ),
            &json!({"short_name": "Hdir"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_suspended_organisations_representatives_lose_their_rights_at_once_and_regain_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "partner").await;
    let member = org_with_status(&app, &admin, "Bravo", "partner").await;
    let own_path = format!("/api/v1/organisations/{}", rep.organisation_id);
    let member_path = format!("/api/v1/organisations/{member}");
    let edit = json!({"short_name": "A"});
    assert_eq!(
        app.patch(
            &own_path,
            &rep.token,
            Some(&app.current_etag(&own_path, &admin).await),
            &edit
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&member_path, &rep.token).await.status(),
        StatusCode::OK
    );

    app.change_status(&admin, &rep.organisation_id, "suspended", "2024-06-01")
        .await;
    assert_eq!(app.me(&rep.token).await["standing"], "inactive");
    assert_eq!(
        app.get(&own_path, &rep.token).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.patch(
            &own_path,
            &rep.token,
            Some(&app.current_etag(&own_path, &admin).await),
            &edit,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get(&member_path, &rep.token).await, 404, "not-found").await;
    assert_problem(
        app.post(
            "/api/v1/people",
            &rep.token,
            &json!({"name": "New", "email": "new@alfa.test"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    app.change_status(&admin, &rep.organisation_id, "partner", "2024-07-01")
        .await;
    assert_eq!(app.me(&rep.token).await["standing"], "partner");
    assert_eq!(
        app.patch(
            &own_path,
            &rep.token,
            Some(&app.current_etag(&own_path, &admin).await),
            &edit
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&member_path, &rep.token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_applicant_admitted_as_partner_starts_seeing_the_members() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "applicant").await;
    let member = org_with_status(&app, &admin, "Bravo", "observer").await;
    let path = format!("/api/v1/organisations/{member}");
    assert_problem(app.get(&path, &rep.token).await, 404, "not-found").await;
    assert_eq!(
        names_of(&app.list_items("/api/v1/organisations", &rep.token).await),
        ["Alfa"]
    );
    app.change_status(&admin, &rep.organisation_id, "partner", "2024-06-01")
        .await;
    assert_eq!(app.get(&path, &rep.token).await.status(), StatusCode::OK);
    assert_eq!(
        names_of(&app.list_items("/api/v1/organisations", &rep.token).await),
        ["Alfa", "Bravo"]
    );
}
