#!/usr/bin/env bash
# Mail benchmark of the release build of `connect`, on SQLite and/or PostgreSQL:
#   1. list p99 with an empty outbox;
#   2. list p99 with a backlog of BENCH_MAILS (10,000) pending messages (worker off);
#   3. the same messages drained to a local SMTP server (aiosmtpd, a sink, in a venv made here):
#      messages per second, and the list p99 while the worker drains.
#
#   bench/mail.sh [sqlite|postgres|all]        (default: all)
#
# Knobs: BENCH_MAILS (10000), BENCH_ORGS (10000), BENCH_DURATION (10 s), BENCH_CONNECTIONS (16),
# BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_SERVER_ENV (extra server settings).
# Every request goes to 127.0.0.1; every loop is bounded.
set -euo pipefail
export LC_ALL=C

WHICH=${1:-all}
case "$WHICH" in
sqlite) BACKENDS=(sqlite) ;;
postgres | pg) BACKENDS=(postgres) ;;
all) BACKENDS=(sqlite postgres) ;;
*) echo "usage: bench/mail.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac

MAILS=${BENCH_MAILS:-10000}
ORGS=${BENCH_ORGS:-10000}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-16}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_URL=${PG_URL%/}
read -r -a SERVER_ENV <<<"${BENCH_SERVER_ENV:-}"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
while read -r v; do unset "$v"; done < <(compgen -e | grep '^CONNECT_' || true)

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
(cd "$REPO" && cargo build --release --quiet)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET/release/connect

VENV=$TARGET/bench-venv
if [ ! -x "$VENV/bin/aiosmtpd" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.*'
fi

WORK=$(mktemp -d)
SERVER_PID=""
SMTP_PID=""
PG_DB=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null && wait "$SMTP_PID" 2>/dev/null
    [ -n "$PG_DB" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # extra env...
    PORT=$(free_port)
    env "${BASE_ENV[@]}" CONNECT_BIND="127.0.0.1:$PORT" "$@" "${SERVER_ENV[@]}" RUST_LOG=warn \
        "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not become ready" >&2
    tail -20 "$WORK/server.log" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

token() {
    curl -fs "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@connect.test","password":"bench-password-0123"}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# Runs wrk on the first page of organisations; prints "req/s p50_ms p99_ms".
measure_list() {
    local out
    out=$(BENCH_TOKEN=$(token) wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s "$BENCH_DIR/wrk.lua" \
        "http://127.0.0.1:$PORT/api/v1/organisations?limit=50" 2>&1 | grep '^BENCH_RESULT')
    python3 - "$out" <<'EOF'
import sys
kv = dict(p.split("=") for p in sys.argv[1].split()[1:])
print(f'{float(kv["requests"]) / (float(kv["duration_us"]) / 1e6):.0f} {float(kv["p50_us"]) / 1000:.2f} {float(kv["p99_us"]) / 1000:.2f}')
EOF
}

backlog() {
    curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^connect_notifications_backlog /{print $2}'
}

SUMMARY=()
for backend in "${BACKENDS[@]}"; do
    rm -rf "$WORK/data" && mkdir -p "$WORK/data"
    if [ "$backend" = postgres ]; then
        PG_DB="connect_bench_mail_$RANDOM$RANDOM"
        psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
        DB_URL="$PG_URL/$PG_DB"
    else
        DB_URL="sqlite://$WORK/data/connect.db"
    fi
    BASE_ENV=(CONNECT_DATABASE_URL="$DB_URL" CONNECT_DATA_DIR="$WORK/data"
        CONNECT_JWT_SECRET=bench-secret-bench-secret-bench-secret-01
        CONNECT_ADMIN_EMAIL=bench@connect.test CONNECT_ADMIN_PASSWORD=bench-password-0123)
    echo "== $backend: $ORGS organisations"
    env "${BASE_ENV[@]}" "$BIN" seed bulk --organisations "$ORGS" >/dev/null

    start_server CONNECT_MAIL_WORKER=false
    read -r rps0 p50_0 p99_0 < <(measure_list)
    echo "   list, empty outbox:            $rps0 req/s, p50 $p50_0 ms, p99 $p99_0 ms"
    stop_server

    env "${BASE_ENV[@]}" "$BIN" seed bulk --organisations 0 --notifications "$MAILS" >/dev/null
    [ "$backend" = postgres ] && psql "$DB_URL" -qc "ANALYZE" >/dev/null
    start_server CONNECT_MAIL_WORKER=false
    echo "   outbox backlog: $(backlog) messages"
    read -r rps1 p50_1 p99_1 < <(measure_list)
    echo "   list, $MAILS pending (no worker): $rps1 req/s, p50 $p50_1 ms, p99 $p99_1 ms"
    stop_server

    SMTP_PORT=$(free_port)
    "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Sink >"$WORK/smtp.log" 2>&1 &
    SMTP_PID=$!
    sleep 1
    # Drain alone: time from start until the backlog is empty.
    start_server CONNECT_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" CONNECT_MAIL_POLL_MS=100
    t0=$EPOCHREALTIME
    left=$(backlog)
    for _ in $(seq 1 6000); do
        left=$(backlog)
        [ "${left:-1}" = 0 ] && break
        sleep 0.1
    done
    t1=$EPOCHREALTIME
    rate=$(python3 -c "print(f'{$MAILS / ($t1 - $t0):.0f}')")
    echo "   drained $MAILS messages in $(python3 -c "print(f'{$t1 - $t0:.1f}')") s: $rate messages/s (left: $left)"
    stop_server
    # Then the API while a worker drains another backlog of the same size.
    env "${BASE_ENV[@]}" "$BIN" seed bulk --organisations 0 --notifications "$MAILS" >/dev/null
    start_server CONNECT_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" CONNECT_MAIL_POLL_MS=100
    read -r rps2 p50_2 p99_2 < <(measure_list)
    echo "   list while draining:           $rps2 req/s, p50 $p50_2 ms, p99 $p99_2 ms (backlog left after: $(backlog))"
    stop_server
    kill "$SMTP_PID" 2>/dev/null || true
    wait "$SMTP_PID" 2>/dev/null || true
    SMTP_PID=""
    SUMMARY+=("$backend | $p99_0 | $p99_1 | $p99_2 | $rate")
    if [ -n "$PG_DB" ]; then
        psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null
        PG_DB=""
    fi
done

echo
echo "| backend | list p99, empty outbox (ms) | list p99, $MAILS pending (ms) | list p99 while draining (ms) | drained to local SMTP (messages/s) |"
echo "|---|---|---|---|---|"
for line in "${SUMMARY[@]}"; do echo "| $line |"; done
