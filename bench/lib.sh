# Shared by the bench scripts (sourced, not run): arguments, tools, the release build, a
# temporary folder cleaned up on exit, a server per backend with a signed-in admin, wrk runs and
# the results table.
#
# A script sets its help text in its header comment (lines 2..HELP_END) and calls
#   bench_init <name> <default backend> <help end line> "$@"
# then, per backend: bench_db <backend> (DB_URL, DIR), bench_env [VAR=value…] (ENV),
# start_server (BASE, TOKEN), wrk_run and row, stop_server and drop_pg_db; finally
# bench_summary <what was measured>. A script with helpers of its own to stop on exit defines
# bench_on_exit. bench/run.sh and bench/mail.sh keep their own tables.
# shellcheck shell=bash

export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-16}
READ_CONNS=${BENCH_READ_CONNECTIONS:-2}
THREADS=${BENCH_THREADS:-2}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
# The server is configured by the script alone, never by the caller's environment.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^CONNECT_' || true)

log() { printf '%s\n' "$*" >&2; }
die() {
    log "bench: $*"
    exit 1
}

# bench_init <name> <default backend> <help end line> "$@": BACKENDS from the first argument
# (sqlite, postgres or all), the tools checked (wrk installed if missing), the release build
# (BIN), a temporary folder (TMP) removed on exit with the server and any PostgreSQL database.
bench_init() {
    local name=$1 default=$2 help_end=$3
    shift 3
    case "${1:-$default}" in
    sqlite) BACKENDS=(sqlite) ;;
    postgres | postgresql | pg) BACKENDS=(postgres) ;;
    all) BACKENDS=(sqlite postgres) ;;
    -h | --help)
        sed -n "2,${help_end}p" "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: bench/$name.sh [sqlite|postgres|all]" >&2
        exit 2
        ;;
    esac
    command -v curl >/dev/null || die "curl is required"
    command -v jq >/dev/null || die "jq is required"
    command -v cargo >/dev/null || die "cargo is required"
    if ! command -v wrk >/dev/null; then
        log "bench: wrk not found; installing it with apt-get"
        local sudo=""
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null || die "wrk is missing and neither root nor sudo is available"
            sudo=sudo
        fi
        command -v apt-get >/dev/null || die "wrk is missing and apt-get is not available; install wrk"
        if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1; then
            $sudo apt-get update -q >/dev/null
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
        fi
        command -v wrk >/dev/null || die "installing wrk failed"
    fi
    if [[ " ${BACKENDS[*]} " == *" postgres "* ]]; then
        command -v psql >/dev/null || die "psql is required for the PostgreSQL run"
    fi
    log "bench: cargo build --release (target dir: ${CARGO_TARGET_DIR:-<default>})"
    (cd "$REPO" && cargo build --release --quiet --bin connect)
    # Where cargo put it (CARGO_TARGET_DIR, or a target-dir in a cargo config file).
    TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    if [[ -z $TARGET_DIR ]]; then
        TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
        [[ $TARGET_DIR = /* ]] || TARGET_DIR=$REPO/$TARGET_DIR
    fi
    BIN=$TARGET_DIR/release/connect
    [[ -x $BIN ]] || die "the release binary is not at $BIN"
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/connect-bench-$name.XXXXXX")
    SERVER_PID=""
    PG_DB=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# stop_server: SIGTERM, then SIGKILL if it has not stopped within 25 s.
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 250; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
drop_pg_db() {
    if [[ -n $PG_DB ]]; then
        psql "$PG_URL/postgres" -qAt -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 ||
            psql "$PG_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 ||
            log "bench: could not drop the database $PG_DB; drop it by hand"
        PG_DB=""
    fi
}
# On exit: bench_on_exit first, when the script defines it (its own helpers: a load generator,
# an SMTP sink), then the server, the PostgreSQL database and the temporary folder.
bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    stop_server
    drop_pg_db
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "bench: kept $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}

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

# bench_db <backend>: BACKEND, DIR (its folder under TMP) and DB_URL (a new PostgreSQL database,
# dropped by drop_pg_db or on exit).
bench_db() {
    BACKEND=$1
    DIR="$TMP/$BACKEND"
    mkdir -p "$DIR"
    case $BACKEND in
    sqlite) DB_URL="sqlite://$DIR/connect.db" ;;
    postgres)
        PG_DB="connect_bench_$(rand_hex 6)"
        psql "$PG_URL/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_DB" >/dev/null ||
            die "cannot create the database $PG_DB at $PG_URL"
        DB_URL="$PG_URL/$PG_DB"
        ;;
    esac
}

# sql <statement>: runs it on the backend's database (sqlite3 needed for SQLite).
sql() {
    case $BACKEND in
    postgres) psql "$DB_URL" -qAt -c "$1" ;;
    sqlite) sqlite3 "$DIR/connect.db" "$1" ;;
    esac
}

# bench_env [VAR=value…]: ENV, the server's configuration (a fresh secret and admin) plus these.
bench_env() {
    ADMIN_EMAIL="bench-admin@example.org"
    ADMIN_PASSWORD="Bench-$(rand_hex 12)-pass"
    ENV=(
        "CONNECT_DATABASE_URL=$DB_URL" "CONNECT_DATA_DIR=$DIR" "CONNECT_JWT_SECRET=$(rand_hex 32)"
        "CONNECT_ADMIN_EMAIL=$ADMIN_EMAIL" "CONNECT_ADMIN_PASSWORD=$ADMIN_PASSWORD"
        "CONNECT_ACCESS_TOKEN_TTL_SECS=3600" "RUST_LOG=warn" "$@"
    )
}

# start_server: `connect serve` with ENV on a free port (three tries, a minute each, for a port
# taken meanwhile), waited for (BASE; its output appended to DIR/server.log), the admin signed in
# (TOKEN).
start_server() {
    local port attempt i ready=0
    for ((attempt = 1; attempt <= 3; attempt++)); do
        port=$(free_port) || die "no free port found"
        BASE="http://127.0.0.1:$port"
        env "${ENV[@]}" "CONNECT_BIND=127.0.0.1:$port" "$BIN" serve >>"$DIR/server.log" 2>&1 &
        SERVER_PID=$!
        for ((i = 0; i < 600; i++)); do
            if curl -fs -m 2 -o /dev/null "$BASE/readyz"; then
                ready=1
                break
            fi
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        ((ready)) && break
        stop_server
        log "bench: [$BACKEND] the server did not become ready (attempt $attempt):"
        tail -n 20 "$DIR/server.log" >&2
    done
    ((ready)) || die "the server did not start"
    TOKEN=$(curl -s -m 30 "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .access_token)
    [[ -n $TOKEN && $TOKEN != null ]] || die "login failed"
}

# api METHOD PATH [JSON] [IF-MATCH]: the answer's body, as the admin; dies on >= 400.
api() {
    local out code
    out=$(curl -s -w '\n%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' ${4:+-H "If-Match: $4"} ${3:+-d "$3"})
    code=${out##*$'\n'}
    [[ $code -lt 400 ]] || die "$1 $2 answered $code: ${out%$'\n'*}"
    printf '%s' "${out%$'\n'*}"
}

# etag_of PATH: the ETag the admin gets for it.
etag_of() {
    curl -s -D - -o /dev/null "$BASE$1" -H "Authorization: Bearer $TOKEN" |
        tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'
}

# wrk_run <label> <script> <url> [connections]: sets W_REQ, W_OK, W_RPS, W_OK_RPS, W_P99 (ms), and
# W_P50_US, W_P99_US (microseconds) for a script that prints them otherwise.
# The Lua script reads BENCH_TOKEN (the admin's token), BENCH_ETAG (ETAG, if set) and whatever
# BENCH_* the caller sets for the call.
# shellcheck disable=SC2034 # the W_* figures are for the scripts
wrk_run() {
    local label=$1 script=$2 url=$3 out="$TMP/$BACKEND-$1.wrk" line kv req=0 dur=1 p50=0 p99=0 serr=0
    local conns=${4:-$CONNS} threads=$THREADS
    ((threads <= conns)) || threads=$conns
    BENCH_TOKEN=${TOKEN:-} BENCH_ETAG=${ETAG:-} wrk -t"$threads" -c"$conns" -d"${DURATION}s" \
        --latency --timeout 10s -s "$script" "$url" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed for $label"
    }
    line=$(grep '^BENCH_RESULT' "$out") || die "no result from wrk for $label"
    for kv in $line; do
        case ${kv%%=*} in
        requests) req=${kv#*=} ;;
        duration_us) dur=${kv#*=} ;;
        p50_us) p50=${kv#*=} ;;
        p99_us) p99=${kv#*=} ;;
        status_errors) serr=${kv#*=} ;;
        esac
    done
    W_REQ=$req
    W_OK=$((req - serr))
    W_RPS=$(awk -v r="$req" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    W_OK_RPS=$(awk -v r="$W_OK" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    W_P99=$(awk -v u="$p99" 'BEGIN {printf "%.1f", u / 1000}')
    W_P50_US=$p50
    W_P99_US=$p99
}

FMT='%-9s %-34s %9s %9s  %s\n'
RESULTS=()
row() { RESULTS+=("$(printf "$FMT" "$@")"); printf "$FMT" "$@"; }
verdict() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {r = (op == "<") ? a < b : a >= b; print r ? "met" : "MISSED"}'; }
table_head() { printf "$FMT" backend scenario "req/s" "p99 ms" notes; }

# bench_summary <what>: the table again, after the logs.
bench_summary() {
    log ""
    log "bench: summary ($(nproc) cores, $1)"
    table_head
    printf '%s\n' "${RESULTS[@]}"
}

# machine_info: what the figures were measured on, as Markdown lines.
machine_info() {
    local pgv=""
    if [[ " ${BACKENDS[*]} " == *" postgres "* ]]; then
        pgv=$(psql "$PG_URL/postgres" -qAt -c 'SHOW server_version' 2>/dev/null || echo "?")
    fi
    printf -- '- date: %s\n' "$(date -u '+%F %H:%M UTC')"
    printf -- '- CPU: %s, %s cores (nproc)\n' \
        "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)"
    printf -- '- memory: %s\n' "$(free -h | awk '/^Mem:/ {print $2}')"
    printf -- '- kernel: %s\n' "$(uname -sr)"
    [[ -z $pgv ]] || printf -- '- PostgreSQL: %s\n' "$pgv"
    printf -- '- SQLite: the one bundled with libsqlite3-sys %s (Cargo.lock)\n' \
        "$(awk '/^name = "libsqlite3-sys"/ {getline; gsub(/version = |"/, ""); print}' "$REPO/Cargo.lock")"
    printf -- '- load average now: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}
