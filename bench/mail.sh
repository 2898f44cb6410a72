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
# BENCH_THREADS (2), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_SERVER_ENV (extra
# server settings), BENCH_KEEP=1 keeps the temporary folder. Every request goes to 127.0.0.1;
# every loop is bounded.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init mail all 13 "$@"

MAILS=${BENCH_MAILS:-10000}
ORGS=${BENCH_ORGS:-10000}
read -r -a SERVER_ENV <<<"${BENCH_SERVER_ENV:-}"

VENV=$TARGET_DIR/bench-venv
if [ ! -x "$VENV/bin/aiosmtpd" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.*'
fi

SMTP_PID=""
# Called by bench_cleanup before the server is stopped.
bench_on_exit() { stop_smtp; }
stop_smtp() {
    if [[ -n $SMTP_PID ]]; then
        kill "$SMTP_PID" 2>/dev/null || true
        wait "$SMTP_PID" 2>/dev/null || true
    fi
    SMTP_PID=""
}

# mail_server [VAR=value…]: start_server with the backend's settings (MAIL_ENV, the same admin
# for every start), these, then BENCH_SERVER_ENV (which wins).
mail_server() {
    ENV=("${MAIL_ENV[@]}" "$@" "${SERVER_ENV[@]}")
    start_server
}

# measure_list <label>: wrk on the first page of organisations; sets RPS, P50 and P99 (ms).
measure_list() {
    wrk_run "$1" "$BENCH_DIR/wrk.lua" "$BASE/api/v1/organisations?limit=50"
    RPS=$W_RPS
    P50=$(awk -v u="$W_P50_US" 'BEGIN {printf "%.2f", u / 1000}')
    P99=$(awk -v u="$W_P99_US" 'BEGIN {printf "%.2f", u / 1000}')
}

backlog() {
    curl -fs "$BASE/metrics" | awk '/^connect_notifications_backlog /{print $2}'
}

SUMMARY=()
for backend in "${BACKENDS[@]}"; do
    bench_db "$backend"
    # shellcheck disable=SC2119 # no extra settings: mail_server adds them per start
    bench_env
    MAIL_ENV=("${ENV[@]}")
    echo "== $backend: $ORGS organisations"
    env "${MAIL_ENV[@]}" "$BIN" seed bulk --organisations "$ORGS" >/dev/null

    mail_server CONNECT_MAIL_WORKER=false
    measure_list list-empty
    rps0=$RPS p50_0=$P50 p99_0=$P99
    echo "   list, empty outbox:            $rps0 req/s, p50 $p50_0 ms, p99 $p99_0 ms"
    stop_server

    env "${MAIL_ENV[@]}" "$BIN" seed bulk --organisations 0 --notifications "$MAILS" >/dev/null
    if [[ $backend == postgres ]]; then sql ANALYZE >/dev/null; fi
    mail_server CONNECT_MAIL_WORKER=false
    echo "   outbox backlog: $(backlog) messages"
    measure_list list-backlog
    rps1=$RPS p50_1=$P50 p99_1=$P99
    echo "   list, $MAILS pending (no worker): $rps1 req/s, p50 $p50_1 ms, p99 $p99_1 ms"
    stop_server

    # A port the kernel hands out (not only one nothing listens on: the sink must bind it).
    SMTP_PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$VENV/bin/python" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Sink >"$DIR/smtp.log" 2>&1 &
    SMTP_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break
        kill -0 "$SMTP_PID" 2>/dev/null || break
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null || {
        cat "$DIR/smtp.log" >&2
        die "the SMTP sink did not start on port $SMTP_PORT"
    }
    # Drain alone: time from start until the backlog is empty.
    mail_server CONNECT_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" CONNECT_MAIL_POLL_MS=100
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
    env "${MAIL_ENV[@]}" "$BIN" seed bulk --organisations 0 --notifications "$MAILS" >/dev/null
    mail_server CONNECT_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" CONNECT_MAIL_POLL_MS=100
    measure_list list-draining
    rps2=$RPS p50_2=$P50 p99_2=$P99
    echo "   list while draining:           $rps2 req/s, p50 $p50_2 ms, p99 $p99_2 ms (backlog left after: $(backlog))"
    stop_server
    stop_smtp
    SUMMARY+=("$backend | $p99_0 | $p99_1 | $p99_2 | $rate")
    drop_pg_db
done

echo
echo "| backend | list p99, empty outbox (ms) | list p99, $MAILS pending (ms) | list p99 while draining (ms) | drained to local SMTP (messages/s) |"
echo "|---|---|---|---|---|"
for line in "${SUMMARY[@]}"; do echo "| $line |"; done
