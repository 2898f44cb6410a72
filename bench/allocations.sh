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
export LC_ALL=C

WHICH=${1:-all}
case "$WHICH" in
sqlite) BACKENDS=(sqlite) ;;
postgres | postgresql | pg) BACKENDS=(postgres) ;;
all) BACKENDS=(sqlite postgres) ;;
-h | --help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: bench/allocations.sh [sqlite|postgres|all]" >&2
    exit 2
    ;;
esac

N=${BENCH_ALLOCATIONS:-100000}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-16}
READ_CONNS=${BENCH_READ_CONNECTIONS:-2}
THREADS=${BENCH_THREADS:-2}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
T_CREATED=500
T_P99=50

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
while read -r v; do unset "$v"; done < <(compgen -e | grep '^CONNECT_' || true)

log() { printf '%s\n' "$*" >&2; }
die() {
    log "bench: $*"
    exit 1
}

command -v curl >/dev/null || die "curl is required"
command -v jq >/dev/null || die "jq is required"
if ! command -v wrk >/dev/null; then
    log "bench: wrk not found; installing it with apt-get"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; } ||
        die "installing wrk failed"
fi
if [[ " ${BACKENDS[*]} " == *" postgres "* ]]; then
    command -v psql >/dev/null || die "psql is required for the PostgreSQL run"
fi
if [[ " ${BACKENDS[*]} " == *" sqlite "* ]] && ! command -v sqlite3 >/dev/null; then
    log "bench: sqlite3 not found; installing it with apt-get (to check the counters)"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlite3 >/dev/null 2>&1 ||
        { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlite3 >/dev/null; } ||
        die "installing sqlite3 failed"
fi

log "bench: cargo build --release"
(cd "$REPO" && cargo build --release --quiet --bin connect)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/connect
[[ $BIN = /* ]] || BIN=$REPO/$BIN
[[ -x $BIN ]] || die "the release binary is not at $BIN"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/connect-bench-alloc.XXXXXX")
SERVER_PID=""
PG_DB=""
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
drop_pg_db() {
    if [[ -n $PG_DB ]]; then
        psql "$PG_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
        PG_DB=""
    fi
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_server
    drop_pg_db
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "bench: kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
free_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wrk_run <label> <script> <url>: sets W_REQ, W_OK, W_RPS, W_OK_RPS, W_P99 (ms).
wrk_run() {
    local label=$1 script=$2 url=$3 out="$TMP/$BACKEND-$1.wrk" line kv req=0 dur=1 p99=0 serr=0
    local conns=${4:-$CONNS} threads=$THREADS
    ((threads <= conns)) || threads=$conns
    BENCH_TOKEN=$TOKEN wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency --timeout 10s \
        -s "$script" "$url" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed for $label"
    }
    line=$(grep '^BENCH_RESULT' "$out") || die "no result from wrk for $label"
    for kv in $line; do
        case ${kv%%=*} in
        requests) req=${kv#*=} ;;
        duration_us) dur=${kv#*=} ;;
        p99_us) p99=${kv#*=} ;;
        status_errors) serr=${kv#*=} ;;
        esac
    done
    W_REQ=$req
    W_OK=$((req - serr))
    W_RPS=$(awk -v r="$req" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    W_OK_RPS=$(awk -v r="$W_OK" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    W_P99=$(awk -v u="$p99" 'BEGIN {printf "%.1f", u / 1000}')
}

FMT='%-9s %-34s %9s %9s  %s\n'
RESULTS=()
row() { RESULTS+=("$(printf "$FMT" "$@")"); printf "$FMT" "$@"; }
verdict() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {r = (op == "<") ? a < b : a >= b; print r ? "met" : "MISSED"}'; }

bench_backend() {
    BACKEND=$1
    local dir="$TMP/$BACKEND" db_url
    mkdir -p "$dir"
    case $BACKEND in
    sqlite) db_url="sqlite://$dir/connect.db" ;;
    postgres)
        PG_DB="connect_bench_$(rand_hex 6)"
        psql "$PG_URL/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_DB" >/dev/null ||
            die "cannot create the database $PG_DB at $PG_URL"
        db_url="$PG_URL/$PG_DB"
        ;;
    esac
    local email="bench-admin@example.org" password port seeded
    password="Bench-$(rand_hex 12)-pass"
    local -a env=(
        "CONNECT_DATABASE_URL=$db_url" "CONNECT_DATA_DIR=$dir" "CONNECT_JWT_SECRET=$(rand_hex 32)"
        "CONNECT_ADMIN_EMAIL=$email" "CONNECT_ADMIN_PASSWORD=$password"
        "CONNECT_ACCESS_TOKEN_TTL_SECS=3600" "RUST_LOG=warn"
    )
    log ""
    log "bench: [$BACKEND] seeding $N allocations"
    seeded=$(env "${env[@]}" "$BIN" seed bulk --organisations 1000 --allocations "$N" 2>"$dir/seed.err" |
        grep '^added .* allocations') || {
        cat "$dir/seed.err" >&2
        die "seeding failed"
    }
    log "bench: [$BACKEND] $seeded"
    AGREEMENT=$(sed 's/.*agreement \([^ ]*\) .*/\1/' <<<"$seeded")
    DRUG=$(sed 's/.*drug \([^,]*\),.*/\1/' <<<"$seeded")
    SITE=$(sed 's/.*site \([^,]*\),.*/\1/' <<<"$seeded")
    COHORT=$(sed 's/.*open cohort \([^)]*\)).*/\1/' <<<"$seeded")

    port=$(free_port) || die "no free port"
    env "${env[@]}" "CONNECT_BIND=127.0.0.1:$port" "$BIN" serve >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    BASE="http://127.0.0.1:$port"
    local i
    for ((i = 0; i < 100; i++)); do
        curl -sf "$BASE/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf "$BASE/readyz" >/dev/null || {
        cat "$dir/server.log" >&2
        die "the server did not start"
    }
    TOKEN=$(curl -s "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .access_token)
    [[ -n $TOKEN && $TOKEN != null ]] || die "login failed"

    # Scenario: new patients, all against one agreement, drug and cohort.
    local before after created
    sql() {
        case $BACKEND in
        postgres) psql "$db_url" -qAt -c "$1" ;;
        sqlite) sqlite3 "$dir/connect.db" "$1" ;;
        esac
    }
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

printf "$FMT" backend scenario "req/s" "p99 ms" notes
for b in "${BACKENDS[@]}"; do bench_backend "$b"; done
log ""
log "bench: summary ($(nproc) cores, $N seeded allocations, POST with $CONNS connections, ${DURATION}s each)"
printf "$FMT" backend scenario "req/s" "p99 ms" notes
printf '%s\n' "${RESULTS[@]}"
