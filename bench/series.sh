#!/usr/bin/env bash
# Meeting series expanded on demand, on the release build, on SQLite and/or PostgreSQL.
#
#   bench/series.sh [sqlite|postgres|all]        (default: sqlite)
#
# 1. Through the API: a working group, a weekly series over five years (2027-2031, about 260
#    occurrences), BENCH_SERIES (36) other series (monthly and every other week) and one
#    occurrence moved alone; ANALYZE on PostgreSQL.
# 2. GET /api/v1/meetings?from=…&to=… spanning the five years (every series expanded, first page
#    of 200) and GET /api/v1/meetings/{id}/occurrences (the long series, a page of 200), each at
#    BENCH_READ_CONNECTIONS (2) and BENCH_CONNECTIONS (16) for BENCH_DURATION (10) seconds:
#    requests per second and p99.
# Knobs: BENCH_SERIES, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_READ_CONNECTIONS, BENCH_THREADS
# (2), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_KEEP=1 keeps the temporary folder.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init series sqlite 14 "$@"
M=${BENCH_SERIES:-36}

bench_backend() {
    bench_db "$1"
    bench_env "CONNECT_MAIL_WORKER=false"
    start_server

    log ""
    log "bench: [$BACKEND] seeding a five-year weekly series and $M other series"
    local body long i start count rrule
    body=$(api POST /api/v1/bodies '{"kind":"working_group","name":"Bench WG"}' | jq -r .id)
    long=$(api POST /api/v1/meetings "{\"body_id\":\"$body\",\"title\":\"Weekly for five years\",
        \"start\":\"2027-01-05T14:00:00\",\"end\":\"2027-01-05T15:00:00\",
        \"rrule\":\"FREQ=WEEKLY;BYDAY=TU;UNTIL=20311231T230000Z\"}" | jq -r .id)
    for ((i = 0; i < M; i++)); do
        start=$(date -u -d "2027-01-04 + $((i % 28)) days" +%F)
        if ((i % 2 == 0)); then
            rrule="FREQ=MONTHLY"
        else
            rrule="FREQ=WEEKLY;INTERVAL=2"
        fi
        api POST /api/v1/meetings "{\"body_id\":\"$body\",\"title\":\"Bench series $i\",
            \"start\":\"${start}T$((9 + i % 4 * 2)):00:00\",\"end\":\"${start}T$((10 + i % 4 * 2)):00:00\",
            \"video_url\":\"https://meet.example.org/bench-$i\",\"rrule\":\"$rrule\"}" >/dev/null
    done
    local etag
    etag=$(etag_of "/api/v1/meetings/$long")
    api PATCH "/api/v1/meetings/$long/occurrences/2027-03-09T13:00:00Z" \
        '{"start":"2027-03-10T10:00:00","end":"2027-03-10T11:00:00"}' "$etag" >/dev/null
    if [[ $BACKEND == postgres ]]; then sql ANALYZE >/dev/null; fi
    local list="$BASE/api/v1/meetings?from=2027-01-01T00:00:00Z&to=2032-01-01T00:00:00Z&limit=200"
    local occ="$BASE/api/v1/meetings/$long/occurrences?limit=200"
    count=$(curl -s "$occ" -H "Authorization: Bearer $TOKEN" | jq '.items | length')
    [[ $count -ge 200 ]] || die "the long series lists $count occurrences on its first page"
    log "bench: [$BACKEND] the long series: $count occurrences on the first page"

    local c label url
    for label in list occurrences; do
        if [[ $label == list ]]; then url=$list; else url=$occ; fi
        for c in "$READ_CONNS" "$CONNS"; do
            wrk_run "$label-$c" "$BENCH_DIR/series.lua" "$url" "$c"
            row "$BACKEND" "GET $label, 5 years ($c conn.)" "$W_RPS" "$W_P99" \
                "$W_REQ requests, $((W_REQ - W_OK)) >= 400; $((M + 1)) series"
        done
    done
    stop_server
    drop_pg_db
}

table_head
for b in "${BACKENDS[@]}"; do bench_backend "$b"; done
bench_summary "$((M + 1)) series, ${DURATION}s each"
