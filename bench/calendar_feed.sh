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
export LC_ALL=C

WHICH=${1:-sqlite}
case "$WHICH" in
sqlite) BACKENDS=(sqlite) ;;
postgres | postgresql | pg) BACKENDS=(postgres) ;;
all) BACKENDS=(sqlite postgres) ;;
-h | --help)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "usage: bench/calendar_feed.sh [sqlite|postgres|all]" >&2
    exit 2
    ;;
esac

M=${BENCH_MEETINGS:-200}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-16}
READ_CONNS=${BENCH_READ_CONNECTIONS:-2}
THREADS=${BENCH_THREADS:-2}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}

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

log "bench: cargo build --release"
(cd "$REPO" && cargo build --release --quiet --bin connect)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/connect
[[ $BIN = /* ]] || BIN=$REPO/$BIN
[[ -x $BIN ]] || die "the release binary is not at $BIN"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/connect-bench-feed.XXXXXX")
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
    BENCH_ETAG=${ETAG:-} wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency --timeout 10s \
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

api() { # api METHOD PATH [JSON] [IF-MATCH]: the answer's body; dies on >= 400
    local out code
    out=$(curl -s -w '\n%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${4:+-H "If-Match: $4"} ${3:+-d "$3"})
    code=${out##*$'\n'}
    [[ $code -lt 400 ]] || die "$1 $2 answered $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}

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
    local email="bench-admin@example.org" password port
    password="Bench-$(rand_hex 12)-pass"
    local -a env=(
        "CONNECT_DATABASE_URL=$db_url" "CONNECT_DATA_DIR=$dir" "CONNECT_JWT_SECRET=$(rand_hex 32)"
        "CONNECT_ADMIN_EMAIL=$email" "CONNECT_ADMIN_PASSWORD=$password"
        "CONNECT_ACCESS_TOKEN_TTL_SECS=3600" "CONNECT_MAIL_WORKER=false" "RUST_LOG=warn"
    )
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

    log ""
    log "bench: [$BACKEND] seeding a person invited to $M meetings"
    local me person body etag_user start rrule
    me=$(api GET /api/v1/me | jq -r .user.id)
    person=$(api POST /api/v1/people '{"name":"Bench Person","email":"bench.person@example.org"}' | jq -r .id)
    etag_user=$(curl -s -D - -o /dev/null "$BASE/api/v1/users/$me" -H "Authorization: Bearer $TOKEN" |
        tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
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
        psql "$db_url" -qAt -c "$rrule" >/dev/null
        psql "$db_url" -qAt -c "ANALYZE" >/dev/null
        ;;
    sqlite) command -v sqlite3 >/dev/null && sqlite3 "$dir/connect.db" "$rrule" || log "bench: no sqlite3: no series" ;;
    esac
    FEED=$(api POST /api/v1/me/calendar-feed | jq -r .url)
    FEED="$BASE/api/v1/calendar/${FEED##*/api/v1/calendar/}"
    local size
    ETAG=$(curl -s -D "$dir/feed.headers" -o "$dir/feed.ics" "$FEED" && tr -d '\r' <"$dir/feed.headers" | sed -n 's/^[Ee][Tt]ag: //p')
    size=$(wc -c <"$dir/feed.ics")
    [[ -n $ETAG ]] || die "the feed has no ETag"
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$FEED") == 304 ]] ||
        die "If-None-Match does not answer 304"
    log "bench: [$BACKEND] the feed: $(grep -c '^BEGIN:VEVENT' "$dir/feed.ics") events, $size bytes"

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

printf "$FMT" backend scenario "req/s" "p99 ms" notes
for b in "${BACKENDS[@]}"; do bench_backend "$b"; done
log ""
log "bench: summary ($(nproc) cores, $M meetings, ${DURATION}s each)"
printf "$FMT" backend scenario "req/s" "p99 ms" notes
printf '%s\n' "${RESULTS[@]}"
