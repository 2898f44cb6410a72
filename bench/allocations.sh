#!/usr/bin/env bash
# The allocation path of the release build, on SQLite and/or PostgreSQL.
#
#   bench/allocations.sh [sqlite|postgres|all]        (default: all)
#
# 1. Seeds BENCH_ALLOCATIONS (100000) patients over agreements of 5,000 (ten cohorts each, six
#    sites; `connect seed bulk --allocations`, which also runs ANALYZE). The first agreement is
#    the one measured.
# 2. Starts new patients with POST /api/v1/agreements/{id}/allocations from BENCH_CONNECTIONS (16)
#    clients for BENCH_DURATION (10) seconds: created per second and p99. Target: 500/s on
#    PostgreSQL. Then checks every cap is exact: the agreement's, the drug's and the cohort's
#    counters equal the patients the database holds.
# 3. Reads with 100,000+ patients in the database: the agreement's usage, a page of its allocations,
#    a filtered page and the consortium-wide overview, each at BENCH_READ_CONNECTIONS (2: the
#    latency a user sees) and at BENCH_CONNECTIONS (16: the machine saturated, where p99 is mostly
#    queueing). Target: p99 under 50 ms on both databases.
# Knobs: BENCH_ALLOCATIONS, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_READ_CONNECTIONS,
# BENCH_THREADS (2), BENCH_PG_URL
# (postgres://postgres@127.0.0.1:5432), BENCH_KEEP=1 keeps the temporary folder.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init allocations all 19 "$@"
N=${BENCH_ALLOCATIONS:-100000}
T_CREATED=500
T_P99=50

bench_backend() {
    bench_db "$1"
    bench_env
    local seeded
    log ""
    log "bench: [$BACKEND] seeding $N allocations"
    seeded=$(env "${ENV[@]}" "$BIN" seed bulk --organisations 1000 --allocations "$N" 2>"$DIR/seed.err" |
        grep '^added .* allocations') || {
        cat "$DIR/seed.err" >&2
        die "seeding failed"
    }
    log "bench: [$BACKEND] $seeded"
    AGREEMENT=$(sed 's/.*agreement \([^ ]*\) .*/\1/' <<<"$seeded")
    DRUG=$(sed 's/.*drug \([^,]*\),.*/\1/' <<<"$seeded")
    SITE=$(sed 's/.*site \([^,]*\),.*/\1/' <<<"$seeded")
    COHORT=$(sed 's/.*open cohort \([^)]*\)).*/\1/' <<<"$seeded")

    start_server

    # Scenario: new patients, all against one agreement, drug and cohort.
    local before after created
    before=$(curl -s "$BASE/api/v1/agreements/$AGREEMENT/usage" -H "Authorization: Bearer $TOKEN" | jq .used)
    BENCH_RUN="R$(rand_hex 4)" BENCH_DRUG=$DRUG BENCH_SITE=$SITE BENCH_COHORT=$COHORT \
        BENCH_DATE=$(date -u +%F) wrk_run allocate "$BENCH_DIR/allocations.lua" \
        "$BASE/api/v1/agreements/$AGREEMENT/allocations"
    created=$W_OK
    grep -m1 '^BENCH_REFUSED' "$TMP/$BACKEND-allocate.wrk" >&2 || true
    sleep 1 # the requests in flight when wrk stopped
    after=$(curl -s "$BASE/api/v1/agreements/$AGREEMENT/usage" -H "Authorization: Bearer $TOKEN" | jq .used)
    # Exact caps: every counter equals the patients the database holds (wrk stops with requests in
    # flight, which complete after it; so the used count may exceed the 201s wrk saw).
    local counts exact
    counts=$(sql "SELECT
        (SELECT patients_used FROM agreements WHERE id = '$AGREEMENT'),
        (SELECT patients_used FROM agreement_drugs WHERE agreement_id = '$AGREEMENT'),
        (SELECT count(*) FROM allocations WHERE agreement_id = '$AGREEMENT' AND status = 'active'),
        (SELECT enrolled FROM cohorts WHERE id = '$COHORT'),
        (SELECT count(*) FROM allocations WHERE cohort_id = '$COHORT' AND status = 'active')")
    IFS='|' read -r a_used d_used a_rows c_used c_rows <<<"$counts"
    if [[ $a_used == "$a_rows" && $d_used == "$a_rows" && $c_used == "$c_rows" && $after == "$a_rows" ]]; then
        exact="caps exact: counters = rows ($a_rows; cohort $c_rows)"
    else
        exact="CAPS NOT EXACT: agreement $a_used, drug $d_used, rows $a_rows, usage $after, cohort $c_used vs $c_rows"
    fi
    exact+="; $((after - before)) added ($created 201s seen by wrk)"
    row "$BACKEND" "POST allocations (created/s)" "$W_OK_RPS" "$W_P99" \
        "$created created of $W_REQ; $exact; target >= $T_CREATED/s on PostgreSQL: $(verdict "$W_OK_RPS" '>=' $T_CREATED)"

    # Reads with the patients in place.
    local label path c
    for label in usage list filtered overview; do
        case $label in
        usage) path="/api/v1/agreements/$AGREEMENT/usage" ;;
        list) path="/api/v1/agreements/$AGREEMENT/allocations?limit=50" ;;
        filtered) path="/api/v1/agreements/$AGREEMENT/allocations?site_id=$SITE&outcome=pending&limit=50" ;;
        overview) path="/api/v1/agreements/usage" ;;
        esac
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE$path" -H "Authorization: Bearer $TOKEN") == 200 ]] ||
            die "GET $path does not answer 200"
        for c in "$READ_CONNS" "$CONNS"; do
            wrk_run "$label-$c" "$BENCH_DIR/wrk.lua" "$BASE$path" "$c"
            row "$BACKEND" "GET $label ($c conn.)" "$W_RPS" "$W_P99" \
                "$W_REQ requests, $((W_REQ - W_OK)) >= 400; p99 target < $T_P99 ms: $(verdict "$W_P99" '<' $T_P99)"
        done
    done
    stop_server
    drop_pg_db
}

table_head
for b in "${BACKENDS[@]}"; do bench_backend "$b"; done
bench_summary "$N seeded allocations, POST with $CONNS connections, ${DURATION}s each"
