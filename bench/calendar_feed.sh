#!/usr/bin/env bash
# A person's calendar feed, on the release build, on SQLite and/or PostgreSQL.
#
#   bench/calendar_feed.sh [sqlite|postgres|all]        (default: sqlite)
#
# 1. Through the API: a person (the admin's account linked to it), a working group they sit in,
#    and BENCH_MEETINGS (200) meetings of the group (so the person is invited to each), every
#    tenth a weekly series; ANALYZE on PostgreSQL. Then the person's feed URL.
# 2. GET the feed (a full calendar of every meeting) and GET it with If-None-Match (304, no
#    body), each at BENCH_READ_CONNECTIONS (2) and BENCH_CONNECTIONS (16) for BENCH_DURATION (10)
#    seconds: requests per second and p99.
# Knobs: BENCH_MEETINGS, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_READ_CONNECTIONS,
# BENCH_THREADS (2), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_KEEP=1 keeps the
# temporary folder.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init calendar_feed sqlite 14 "$@"
M=${BENCH_MEETINGS:-200}

bench_backend() {
    bench_db "$1"
    bench_env "CONNECT_MAIL_WORKER=false"
    start_server

    log ""
    log "bench: [$BACKEND] seeding a person invited to $M meetings"
    local me person body etag_user start rrule i
    me=$(api GET /api/v1/me | jq -r .user.id)
    person=$(api POST /api/v1/people '{"name":"Bench Person","email":"bench.person@example.org"}' | jq -r .id)
    etag_user=$(etag_of "/api/v1/users/$me")
    api PATCH "/api/v1/users/$me" "{\"person_id\":\"$person\"}" "$etag_user" >/dev/null
    body=$(api POST /api/v1/bodies '{"kind":"working_group","name":"Bench WG"}' | jq -r .id)
    api POST "/api/v1/bodies/$body/members" \
        "{\"person_id\":\"$person\",\"role\":\"member\",\"from_date\":\"$(date -u +%F)\"}" >/dev/null
    for ((i = 0; i < M; i++)); do
        start=$(date -u -d "2027-01-04 + $((i / 4)) days" +%F)
        api POST /api/v1/meetings "{\"body_id\":\"$body\",\"title\":\"Bench meeting $i\",\"description\":\"Agenda, minutes; and the rest.\",
            \"start\":\"${start}T$((9 + i % 4 * 2)):00:00\",\"end\":\"${start}T$((10 + i % 4 * 2)):00:00\",\"place\":\"Room $((i % 7))\"}" >/dev/null
    done
    # Every tenth a weekly series (the series API is not the feed's business: set in SQL).
    rrule="UPDATE meetings SET rrule = 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' WHERE title LIKE 'Bench meeting %0'"
    case $BACKEND in
    postgres)
        sql "$rrule" >/dev/null
        sql ANALYZE >/dev/null
        ;;
    sqlite) command -v sqlite3 >/dev/null && sql "$rrule" || log "bench: no sqlite3: no series" ;;
    esac
    FEED=$(api POST /api/v1/me/calendar-feed | jq -r .url)
    FEED="$BASE/api/v1/calendar/${FEED##*/api/v1/calendar/}"
    local size
    ETAG=$(curl -s -D "$DIR/feed.headers" -o "$DIR/feed.ics" "$FEED" && tr -d '\r' <"$DIR/feed.headers" | sed -n 's/^[Ee][Tt]ag: //p')
    size=$(wc -c <"$DIR/feed.ics")
    [[ -n $ETAG ]] || die "the feed has no ETag"
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$FEED") == 304 ]] ||
        die "If-None-Match does not answer 304"
    log "bench: [$BACKEND] the feed: $(grep -c '^BEGIN:VEVENT' "$DIR/feed.ics") events, $size bytes"

    local c label
    for label in full not-modified; do
        for c in "$READ_CONNS" "$CONNS"; do
            if [[ $label == full ]]; then
                ETAG="" wrk_run "$label-$c" "$BENCH_DIR/calendar_feed.lua" "$FEED" "$c"
            else
                wrk_run "$label-$c" "$BENCH_DIR/calendar_feed.lua" "$FEED" "$c"
            fi
            row "$BACKEND" "GET feed, $label ($c conn.)" "$W_RPS" "$W_P99" \
                "$W_REQ requests, $((W_REQ - W_OK)) >= 400; $M meetings, $size bytes"
        done
    done
    stop_server
    drop_pg_db
}

table_head
for b in "${BACKENDS[@]}"; do bench_backend "$b"; done
bench_summary "$M meetings, ${DURATION}s each"
