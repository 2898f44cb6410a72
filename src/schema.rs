//! The one schema both backends share (hand-kept to match `migrations/sqlite` and
//! `migrations/postgres`: ids are text, times are UTC `TIMESTAMP`s, JSON is text).

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        short_name -> Nullable<Text>,
        kind -> Text,
        sector -> Text,
        org_number -> Nullable<Text>,
        country -> Text,
        website -> Nullable<Text>,
        health_region -> Nullable<Text>,
        trial_site -> Bool,
        membership_status -> Text,
        founding_partner -> Bool,
        joined_on -> Nullable<Date>,
        left_on -> Nullable<Date>,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    membership_changes (id) {
        id -> Text,
        organisation_id -> Text,
        from_status -> Text,
        to_status -> Text,
        effective_date -> Date,
        reason -> Text,
        decision_reference -> Nullable<Text>,
        changed_by -> Nullable<Text>,
        recorded_at -> Timestamp,
        decision_id -> Nullable<Text>,
    }
}

diesel::table! {
    people (id) {
        id -> Text,
        organisation_id -> Nullable<Text>,
        name -> Text,
        email -> Text,
        title -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    drugs (id) {
        id -> Text,
        organisation_id -> Text,
        generic_name -> Text,
        brand_name -> Nullable<Text>,
        atc_code -> Nullable<Text>,
        form -> Nullable<Text>,
        strength -> Nullable<Text>,
        status -> Text,
        available_from -> Nullable<Date>,
        notes -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    drug_targets (drug_id, target) {
        drug_id -> Text,
        target -> Text,
    }
}

diesel::table! {
    agreements (id) {
        id -> Text,
        organisation_id -> Text,
        reference -> Text,
        title -> Text,
        status -> Text,
        signed_on -> Nullable<Date>,
        effective_from -> Nullable<Date>,
        effective_to -> Nullable<Date>,
        patient_cap -> Integer,
        patients_used -> Integer,
        funded_weeks -> Integer,
        documents -> Text,
        notes -> Nullable<Text>,
        cap_80_notified_at -> Nullable<Timestamp>,
        cap_100_notified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    agreement_drugs (agreement_id, drug_id) {
        agreement_id -> Text,
        drug_id -> Text,
        patient_cap -> Nullable<Integer>,
        patients_used -> Integer,
        cap_80_notified_at -> Nullable<Timestamp>,
        cap_100_notified_at -> Nullable<Timestamp>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    agreement_events (id) {
        id -> Text,
        agreement_id -> Text,
        kind -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        decision_reference -> Nullable<Text>,
        changes -> Nullable<Text>,
        actor_user_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        decision_id -> Nullable<Text>,
    }
}

diesel::table! {
    cohorts (id) {
        id -> Text,
        agreement_id -> Text,
        drug_id -> Text,
        organisation_id -> Text,
        tumour_type -> Text,
        alteration -> Text,
        stage -> Text,
        status -> Text,
        stage1_size -> Integer,
        stage2_size -> Integer,
        stage2_target -> Integer,
        expansion_target -> Integer,
        expansion_size -> Nullable<Integer>,
        stage_limit -> Integer,
        enrolled -> Integer,
        closed_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    cohort_events (id) {
        id -> Text,
        cohort_id -> Text,
        from_stage -> Nullable<Text>,
        to_stage -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        reason -> Nullable<Text>,
        enrolled -> Integer,
        benefits -> Integer,
        actor_user_id -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    allocations (id) {
        id -> Text,
        agreement_id -> Text,
        organisation_id -> Text,
        drug_id -> Text,
        site_id -> Text,
        cohort_id -> Text,
        trial_code -> Text,
        cohort_stage -> Text,
        started_on -> Date,
        evaluation_due -> Date,
        outcome -> Text,
        evaluated_on -> Nullable<Date>,
        status -> Text,
        withdrawn_reason -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    allocation_funding (allocation_id, from_date, payer) {
        allocation_id -> Text,
        payer -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
    }
}

diesel::table! {
    scheduled_runs (job, period) {
        job -> Text,
        period -> Text,
        ran_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        organisation_id -> Nullable<Text>,
        person_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deactivated_at -> Nullable<Timestamp>,
        password_changed_at -> Timestamp,
        version -> Integer,
        language -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failed_addresses (account, address) {
        account -> Text,
        address -> Text,
        last_failed_at -> Timestamp,
    }
}

diesel::table! {
    login_throttle (account) {
        account -> Text,
        failures -> Integer,
        window_started_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        record_type -> Text,
        record_id -> Text,
        changes -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (owner, idem_key) {
        owner -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status_code -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        claim_id -> Nullable<Text>,
        committed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        kind -> Text,
        recipient_email -> Text,
        recipient_name -> Nullable<Text>,
        recipient_user_id -> Nullable<Text>,
        language -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        message_id -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        calendar -> Nullable<Text>,
    }
}

diesel::table! {
    notification_preferences (user_id, kind) {
        user_id -> Text,
        kind -> Text,
        enabled -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        email -> Text,
        display_name -> Nullable<Text>,
        role -> Text,
        organisation_id -> Nullable<Text>,
        language -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        user_id -> Nullable<Text>,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bodies (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        short_name -> Nullable<Text>,
        mandate -> Text,
        status -> Text,
        started_on -> Nullable<Date>,
        ended_on -> Nullable<Date>,
        quorum_percent -> Integer,
        majority -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    body_members (id) {
        id -> Text,
        body_id -> Text,
        person_id -> Text,
        role -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    decisions (id) {
        id -> Text,
        body_id -> Text,
        meeting_id -> Nullable<Text>,
        reference -> Nullable<Text>,
        title -> Text,
        text -> Text,
        kind -> Text,
        status -> Text,
        secret_ballot -> Bool,
        subject_organisation_id -> Nullable<Text>,
        subject_agreement_id -> Nullable<Text>,
        quorum_percent -> Nullable<Integer>,
        majority -> Nullable<Text>,
        opened_at -> Nullable<Timestamp>,
        deadline -> Nullable<Timestamp>,
        eligible_count -> Nullable<Integer>,
        quorum -> Nullable<Integer>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        yes_count -> Nullable<Integer>,
        no_count -> Nullable<Integer>,
        abstain_count -> Nullable<Integer>,
        quorum_reached -> Nullable<Bool>,
        reminded_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    decision_voters (decision_id, person_id) {
        decision_id -> Text,
        person_id -> Text,
        organisation_id -> Nullable<Text>,
        recused -> Bool,
        recusal_kind -> Nullable<Text>,
        recusal_reason -> Nullable<Text>,
        recused_at -> Nullable<Timestamp>,
        choice -> Nullable<Text>,
        voted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    meetings (id) {
        id -> Text,
        kind -> Text,
        body_id -> Nullable<Text>,
        series_id -> Nullable<Text>,
        occurrence_of -> Nullable<Timestamp>,
        uid -> Text,
        sequence -> Integer,
        title -> Text,
        description -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        time_zone -> Text,
        place -> Nullable<Text>,
        video_url -> Nullable<Text>,
        language -> Text,
        status -> Text,
        cancel_reason -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        recording_url -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        rrule -> Nullable<Text>,
        capacity -> Nullable<Integer>,
        registered_count -> Integer,
    }
}

diesel::table! {
    meeting_invitees (id) {
        id -> Text,
        meeting_id -> Text,
        person_id -> Nullable<Text>,
        guest_name -> Nullable<Text>,
        guest_email -> Nullable<Text>,
        response -> Text,
        responded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        version -> Integer,
        attendance -> Nullable<Text>,
    }
}

diesel::table! {
    meeting_reminders (meeting_id, occurrence_start, invitee_id) {
        meeting_id -> Text,
        occurrence_start -> Timestamp,
        invitee_id -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    calendar_feeds (id) {
        id -> Text,
        person_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    agenda_items (id) {
        id -> Text,
        meeting_id -> Text,
        position -> Integer,
        title -> Text,
        description -> Text,
        presenter_person_id -> Nullable<Text>,
        presenter_name -> Nullable<Text>,
        duration_minutes -> Nullable<Integer>,
        documents -> Text,
        decision_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    meeting_minutes (meeting_id) {
        meeting_id -> Text,
        body -> Text,
        status -> Text,
        drafted_by -> Nullable<Text>,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        approval_decision_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    action_items (id) {
        id -> Text,
        meeting_id -> Text,
        agenda_item_id -> Nullable<Text>,
        title -> Text,
        description -> Text,
        owner_person_id -> Text,
        due_on -> Date,
        status -> Text,
        done_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    event_registrations (id) {
        id -> Text,
        meeting_id -> Text,
        name -> Text,
        email -> Text,
        organisation -> Nullable<Text>,
        language -> Text,
        status -> Text,
        promoted_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    scheduling_polls (id) {
        id -> Text,
        title -> Text,
        description -> Text,
        body_id -> Nullable<Text>,
        time_zone -> Text,
        status -> Text,
        meeting_id -> Nullable<Text>,
        closes_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_by_person_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
        language -> Text,
    }
}

diesel::table! {
    poll_slots (id) {
        id -> Text,
        poll_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
    }
}

diesel::table! {
    poll_participants (id) {
        id -> Text,
        poll_id -> Text,
        person_id -> Nullable<Text>,
        guest_name -> Nullable<Text>,
        guest_email -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    poll_answers (participant_id, slot_id) {
        participant_id -> Text,
        slot_id -> Text,
        answer -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        description -> Text,
        secret -> Text,
        active -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> Integer,
    }
}

diesel::table! {
    webhook_subscription_events (subscription_id, event_type) {
        subscription_id -> Text,
        event_type -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        attempts_before_retry -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        attempted_at -> Timestamp,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
        duration_ms -> Integer,
    }
}

diesel::joinable!(membership_changes -> organisations (organisation_id));
diesel::joinable!(people -> organisations (organisation_id));
diesel::joinable!(drugs -> organisations (organisation_id));
diesel::joinable!(drug_targets -> drugs (drug_id));
diesel::joinable!(agreements -> organisations (organisation_id));
diesel::joinable!(agreement_drugs -> agreements (agreement_id));
diesel::joinable!(agreement_drugs -> drugs (drug_id));
diesel::joinable!(agreement_events -> agreements (agreement_id));
diesel::joinable!(cohorts -> agreements (agreement_id));
diesel::joinable!(cohorts -> drugs (drug_id));
diesel::joinable!(cohort_events -> cohorts (cohort_id));
diesel::joinable!(allocations -> agreements (agreement_id));
diesel::joinable!(allocations -> drugs (drug_id));
diesel::joinable!(allocations -> cohorts (cohort_id));
diesel::joinable!(allocation_funding -> allocations (allocation_id));
diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(body_members -> bodies (body_id));
diesel::joinable!(body_members -> people (person_id));
diesel::joinable!(decisions -> bodies (body_id));
diesel::joinable!(decision_voters -> decisions (decision_id));
diesel::joinable!(decision_voters -> people (person_id));
diesel::joinable!(meetings -> bodies (body_id));
diesel::joinable!(meeting_invitees -> meetings (meeting_id));
diesel::joinable!(meeting_invitees -> people (person_id));
diesel::joinable!(meeting_reminders -> meetings (meeting_id));
diesel::joinable!(calendar_feeds -> people (person_id));
diesel::joinable!(agenda_items -> meetings (meeting_id));
diesel::joinable!(agenda_items -> people (presenter_person_id));
diesel::joinable!(agenda_items -> decisions (decision_id));
diesel::joinable!(meeting_minutes -> meetings (meeting_id));
diesel::joinable!(action_items -> meetings (meeting_id));
diesel::joinable!(action_items -> agenda_items (agenda_item_id));
diesel::joinable!(action_items -> people (owner_person_id));
diesel::joinable!(event_registrations -> meetings (meeting_id));
diesel::joinable!(scheduling_polls -> bodies (body_id));
diesel::joinable!(scheduling_polls -> meetings (meeting_id));
diesel::joinable!(poll_slots -> scheduling_polls (poll_id));
diesel::joinable!(poll_participants -> scheduling_polls (poll_id));
diesel::joinable!(poll_participants -> people (person_id));
diesel::joinable!(poll_answers -> poll_participants (participant_id));
diesel::joinable!(poll_answers -> poll_slots (slot_id));
diesel::joinable!(webhook_subscription_events -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    membership_changes,
    people,
    drugs,
    agreements,
    agreement_drugs,
    agreement_events,
    cohorts,
    cohort_events,
    allocations,
    allocation_funding,
    scheduled_runs,
    bodies,
    body_members,
    decisions,
    decision_voters,
    meetings,
    meeting_invitees,
    meeting_reminders,
    calendar_feeds,
    agenda_items,
    meeting_minutes,
    action_items,
    event_registrations,
    scheduling_polls,
    poll_slots,
    poll_participants,
    poll_answers,
    webhook_subscriptions,
    webhook_subscription_events,
    webhook_deliveries,
    webhook_attempts,
    drug_targets,
    users,
    refresh_tokens,
    api_tokens,
    login_throttle,
    login_failed_addresses,
    audit_events,
    idempotency_keys,
    notifications,
    notification_preferences,
    invitations,
    password_resets,
);
