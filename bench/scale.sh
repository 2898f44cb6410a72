#!/usr/bin/env bash
# How request cost grows with the data, on the release build, on SQLite and/or PostgreSQL.
#
#   bench/scale.sh [sqlite|postgres|all]        (default: all)
#
# For each size N in BENCH_SCALE_SIZES (1000 10000 100000), in a fresh database:
# 1. `connect seed bulk --organisations N --people N --audit-events 10N --allocations N` (multi-row
#    inserts, then ANALYZE; VACUUM ANALYZE on PostgreSQL), timed.
# 2. GET, as the admin, each for BENCH_DURATION (5) seconds at BENCH_READ_CONNECTIONS (2: the
#    latency a user sees): organisations page 1, a keyset page in the middle of the list, filtered
#    by status and by a name search; people the same (filtered by organisation and by a name
#    search); audit events page 1, a page in the middle, filtered by actor, by action and by one
#    record's history; allocations page 1, a page in the middle, one agreement's filtered by
#    site and outcome; an agreement's usage and the consortium's usage overview. At the largest
#    size each again at BENCH_CONNECTIONS (16: the two cores saturated, p99 mostly queueing).
# 3. Prints, per backend, a growth table (endpoint x size: req/s and p99) in Markdown, with the
#    1-minute load average beside each size, and flags every p99 >= 50 ms at the largest size.
# Knobs: BENCH_SCALE_SIZES, BENCH_DURATION, BENCH_CONNECTIONS, BENCH_READ_CONNECTIONS,
# BENCH_THREADS (2), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_KEEP=1 keeps the
# temporary folder (server logs, raw wrk output).
set -euo pipefail
: "${BENCH_DURATION:=5}"
export BENCH_DURATION
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init scale all 20 "$@"
read -r -a SIZES <<<"${BENCH_SCALE_SIZES:-1000 10000 100000}"
LARGEST=${SIZES[${#SIZES[@]} - 1]}
[[ " ${BACKENDS[*]} " != *" sqlite "* ]] || command -v sqlite3 >/dev/null ||
    die "sqlite3 is required for the SQLite run (apt-get install sqlite3)"
T_P99=50

# The scenarios, in the order of the tables.
LABELS=(
    orgs-page1 orgs-deep orgs-status orgs-search
    people-page1 people-deep people-org people-search
    audit-page1 audit-deep audit-actor audit-action audit-record
    alloc-page1 alloc-deep alloc-filter
    usage overview
)
declare -A RPS P99 LOADS SEEDED

# cursor <list> <key…>: the opaque cursor a page of <list> ending at that key hands out
# (base64url of {"l": list, "k": [key…]}; see src/http/pagination.rs).
cursor() {
    local list=$1
    shift
    jq -cn --arg l "$list" '{l: $l, k: $ARGS.positional}' --args "$@" |
        tr -d '\n' | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# follow <path> <pages>: the cursor after <pages> pages of 200 (the way a client gets deep).
follow() {
    local path=$1 pages=$2 c="" i sep='?'
    [[ $path == *'?'* ]] && sep='&'
    for ((i = 0; i < pages; i++)); do
        c=$(api GET "$path${sep}limit=200${c:+&cursor=$c}" | jq -r '.next_cursor // empty')
        [[ -n $c ]] || break
    done
    printf '%s' "$c"
}

# path_of <label>: the request of a scenario (ids and cursors set by bench_size).
path_of() {
    case $1 in
    orgs-page1) echo "/api/v1/organisations?limit=50" ;;
    orgs-deep) echo "/api/v1/organisations?limit=50&cursor=$ORG_CURSOR" ;;
    orgs-status) echo "/api/v1/organisations?membership_status=observer,applicant&limit=50" ;;
    orgs-search) echo "/api/v1/organisations?q=genomics&limit=50" ;;
    people-page1) echo "/api/v1/people?limit=50" ;;
    people-deep) echo "/api/v1/people?limit=50&cursor=$PEOPLE_CURSOR" ;;
    people-org) echo "/api/v1/people?organisation_id=$PEOPLE_ORG&limit=50" ;;
    people-search) echo "/api/v1/people?q=ingrid%20haugen&limit=50" ;;
    audit-page1) echo "/api/v1/audit-events?limit=50" ;;
    audit-deep) echo "/api/v1/audit-events?limit=50&cursor=$AUDIT_CURSOR" ;;
    audit-actor) echo "/api/v1/audit-events?actor_id=$ACTOR&limit=50" ;;
    audit-action) echo "/api/v1/audit-events?action=organisation.membership_changed&limit=50" ;;
    audit-record) echo "/api/v1/audit-events?record_type=organisation&record_id=$AUDITED&limit=50" ;;
    alloc-page1) echo "/api/v1/allocations?limit=50" ;;
    alloc-deep) echo "/api/v1/allocations?limit=50&cursor=$ALLOC_CURSOR" ;;
    alloc-filter) echo "/api/v1/agreements/$AGREEMENT/allocations?site_id=$SITE&outcome=pending&limit=50" ;;
    usage) echo "/api/v1/agreements/$AGREEMENT/usage" ;;
    overview) echo "/api/v1/agreements/usage" ;;
    esac
}

load1() { cut -d' ' -f1 /proc/loadavg; }

bench_size() {
    local n=$1 seeded t0 t1
    rm -rf "${TMP:?}/$BACKEND" # each size in a new database (the SQLite file lives there)
    bench_db "$BACKEND"
    bench_env "CONNECT_MAIL_WORKER=false"
    log ""
    log "bench: [$BACKEND] N=$n: seeding $n organisations and people, $((n * 10)) audit events, $n allocations"
    t0=$(date +%s.%N)
    seeded=$(env "${ENV[@]}" "$BIN" seed bulk --organisations "$n" --people "$n" \
        --audit-events $((n * 10)) --allocations "$n" 2>"$DIR/seed.err") || {
        cat "$DIR/seed.err" >&2
        die "seeding failed"
    }
    t1=$(date +%s.%N)
    SEEDED[$BACKEND/$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", b - a}')
    log "bench: [$BACKEND] seeded in ${SEEDED[$BACKEND/$n]} s"
    local line
    line=$(grep '^added .* allocations' <<<"$seeded")
    AGREEMENT=$(sed 's/.*agreement \([^ ]*\) .*/\1/' <<<"$line")
    SITE=$(sed 's/.*site \([^,]*\),.*/\1/' <<<"$line")

    # Ids and cursors for the scenarios: the middle of each list, an organisation with contacts,
    # a user who made changes, an organisation with a history.
    local half=$((n / 2)) k id
    IFS='|' read -r k id < <(sql "SELECT name, id FROM organisations WHERE archived_at IS NULL
        ORDER BY name, id LIMIT 1 OFFSET $half")
    ORG_CURSOR=$(cursor organisations "$k" "$id")
    IFS='|' read -r k id < <(sql "SELECT name, id FROM people ORDER BY name, id LIMIT 1 OFFSET $half")
    PEOPLE_CURSOR=$(cursor people "$k" "$id")
    AUDIT_CURSOR=$(cursor audit-events "$(sql "SELECT id FROM audit_events ORDER BY id DESC LIMIT 1 OFFSET $((n * 5))")")
    PEOPLE_ORG=$(sql "SELECT organisation_id FROM people WHERE organisation_id IS NOT NULL ORDER BY id LIMIT 1")
    ACTOR=$(sql "SELECT actor_id FROM audit_events WHERE actor_kind = 'user' ORDER BY id DESC LIMIT 1")
    AUDITED=$(sql "SELECT record_id FROM audit_events WHERE record_type = 'organisation' ORDER BY id DESC LIMIT 1")

    start_server
    ALLOC_CURSOR=$(follow /api/v1/allocations $((half / 200)))
    local label path c conns=("$READ_CONNS")
    [[ $n != "$LARGEST" ]] || conns+=("$CONNS")
    for label in "${LABELS[@]}"; do
        path=$(path_of "$label")
        local items
        items=$(api GET "$path" | jq 'if has("items") then (.items | length) else "-" end')
        for c in "${conns[@]}"; do
            LOADS[$BACKEND/$n/$c]=${LOADS[$BACKEND/$n/$c]:-$(load1)}
            wrk_run "$n-$label-$c" "$BENCH_DIR/wrk.lua" "$BASE$path" "$c"
            ((W_REQ > W_OK)) && die "$label answered $((W_REQ - W_OK)) errors"
            RPS[$BACKEND/$label/$n/$c]=$W_RPS
            P99[$BACKEND/$label/$n/$c]=$W_P99
            row "$BACKEND" "N=$n $label ($c conn.)" "$W_RPS" "$W_P99" \
                "$items items; load $(load1)$([[ $n == "$LARGEST" ]] && echo "; p99 < $T_P99 ms: $(verdict "$W_P99" '<' $T_P99)")"
        done
    done
    stop_server
    drop_pg_db
}

# growth_table <backend> <connections> <sizes…>: Markdown, req/s and p99 (ms) per size.
growth_table() {
    local b=$1 c=$2 label n h1="| endpoint |" h2="|---|" cells missed=()
    shift 2
    for n in "$@"; do
        h1+=" N=$n req/s | p99 ms |"
        h2+="--:|--:|"
    done
    printf '\n%s, %s connections (1-min load at the start of each size:' "$b" "$c"
    for n in "$@"; do printf ' %s' "${LOADS[$b/$n/$c]}"; done
    printf '; seeded in'
    for n in "$@"; do printf ' %s s' "${SEEDED[$b/$n]}"; done
    printf ')\n\n%s\n%s\n' "$h1" "$h2"
    for label in "${LABELS[@]}"; do
        cells="| $label |"
        for n in "$@"; do
            local p=${P99[$b/$label/$n/$c]}
            if [[ $n == "$LARGEST" && $(verdict "$p" '<' $T_P99) == MISSED ]]; then
                cells+=" ${RPS[$b/$label/$n/$c]} | **$p** |"
                missed+=("$label")
            else
                cells+=" ${RPS[$b/$label/$n/$c]} | $p |"
            fi
        done
        printf '%s\n' "$cells"
    done
    if ((${#missed[@]})); then
        printf '\np99 >= %s ms at N=%s: %s\n' "$T_P99" "$LARGEST" "${missed[*]}"
    else
        printf '\nevery p99 < %s ms at N=%s\n' "$T_P99" "$LARGEST"
    fi
}

table_head
for BACKEND in "${BACKENDS[@]}"; do
    for n in "${SIZES[@]}"; do bench_size "$n"; done
done
bench_summary "sizes ${SIZES[*]}, ${DURATION}s each"
echo
machine_info
for b in "${BACKENDS[@]}"; do
    growth_table "$b" "$READ_CONNS" "${SIZES[@]}"
    growth_table "$b" "$CONNS" "$LARGEST"
done
