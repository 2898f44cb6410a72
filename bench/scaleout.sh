#!/usr/bin/env bash
# Two instances of the release build against one PostgreSQL database: throughput of one and of
# two, and whether caps, idempotency and the outbox stay exact with the load split across them.
#
#   bench/scaleout.sh [postgres]
#
# Seeds BENCH_ORGS (10000) organisations and BENCH_ALLOCATIONS (10000) patients, then starts
# instance A and instance B on two ports with the same database, JWT secret and admin, each with
# its own data folder (its mail worker writes .eml files there).
# 1. Throughput: GET /api/v1/organisations?limit=50 and POST allocations (new patients under one
#    agreement), each BENCH_DURATION (10) seconds with BENCH_CONNECTIONS (16) clients against A
#    alone, then half the clients against A and half against B at once: req/s of one and of two.
#    On a 2-core machine both instances, wrk and PostgreSQL share the same two cores, so expect
#    little gain: the figures show what a second instance costs or gains, not what a second
#    machine would.
# 2. Caps: an agreement with room for BENCH_CAP (300) more patients; 8 clients against each
#    instance start patients for 5 seconds: exactly BENCH_CAP succeed, and the counters equal the
#    rows.
# 3. Idempotency: the same Idempotency-Key and body sent 20 times, alternating A and B, 10 at a
#    time: one organisation, one stored key, every success the same id.
# 4. Outbox: BENCH_MAILS (2000) e-mails queued before the start (both workers drain them before
#    the throughput runs) plus 200 invitations sent through A and B during 2 and 3: every outbox row sent, each .eml file written once (counted
#    over both folders, no message in both).
# Knobs: BENCH_ORGS, BENCH_ALLOCATIONS, BENCH_CAP, BENCH_MAILS, BENCH_DURATION,
# BENCH_CONNECTIONS, BENCH_THREADS (2), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432),
# BENCH_KEEP=1 keeps the temporary folder.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init scaleout postgres 26 "$@"
[[ ${BACKENDS[*]} == postgres ]] || die "the scale-out run needs PostgreSQL (one database, two instances)"
ORGS=${BENCH_ORGS:-10000}
NALLOC=${BENCH_ALLOCATIONS:-10000}
CAP=${BENCH_CAP:-300}
MAILS=${BENCH_MAILS:-2000}
INVITES=200
HALF=$((CONNS / 2))
((HALF >= 1)) || HALF=1

B_PID=""
stop_b() {
    if [[ -n $B_PID ]]; then
        kill -TERM "$B_PID" 2>/dev/null || true
        wait "$B_PID" 2>/dev/null || true
        B_PID=""
    fi
}
trap 'rc=$?; stop_b; (exit $rc); bench_cleanup' EXIT

# start_instance <name> <folder>: `connect serve` with ENV, its own data folder and port; sets
# PORT_<name>, PID_<name>.
start_instance() {
    local name=$1 dir=$2 port i pid
    mkdir -p "$dir"
    port=$(free_port) || die "no free port"
    env "${ENV[@]}" "CONNECT_DATA_DIR=$dir" "CONNECT_BIND=127.0.0.1:$port" "$BIN" serve \
        >"$dir/server.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 100; i++)); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || {
        cat "$dir/server.log" >&2
        die "instance $name did not start"
    }
    printf -v "PORT_$name" '%s' "$port"
    printf -v "PID_$name" '%s' "$pid"
}

bench_db postgres
bench_env "CONNECT_MAIL_POLL_MS=100"
log "bench: seeding $ORGS organisations, $NALLOC allocations and $MAILS queued e-mails"
seeded=$(env "${ENV[@]}" "$BIN" seed bulk --organisations "$ORGS" --notifications "$MAILS" \
    --allocations "$NALLOC" 2>"$DIR/seed.err") || {
    cat "$DIR/seed.err" >&2
    die "seeding failed"
}
line=$(grep '^added .* allocations' <<<"$seeded")
AGREEMENT=$(sed 's/.*agreement \([^ ]*\) .*/\1/' <<<"$line")
DRUG=$(sed 's/.*drug \([^,]*\),.*/\1/' <<<"$line")
SITE=$(sed 's/.*site \([^,]*\),.*/\1/' <<<"$line")
COHORT=$(sed 's/.*open cohort \([^)]*\)).*/\1/' <<<"$line")

# Both instances start at once: both workers drain the queued e-mails from the first second.
start_instance A "$DIR/a"
SERVER_PID=$PID_A
start_instance B "$DIR/b"
B_PID=$PID_B
A="http://127.0.0.1:$PORT_A"
B="http://127.0.0.1:$PORT_B"
BASE=$A
TOKEN=$(curl -s "$A/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .access_token)
[[ -n $TOKEN && $TOKEN != null ]] || die "login failed"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$B/api/v1/organisations?limit=1" -H "Authorization: Bearer $TOKEN") == 200 ]] ||
    die "instance B does not accept instance A's token"

# 4, first half: both workers drain the queued e-mails from the start; the throughput runs wait
# for the backlog to be gone.
for ((i = 0; i < 600; i++)); do
    [[ $(sql "SELECT count(*) FROM notifications WHERE state <> 'sent'") == 0 ]] && break
    sleep 0.5
done
log "bench: the $MAILS queued e-mails drained after ~$((i / 2)) s"

# 1. Throughput, one instance and two.
# pair <label> <script> <path-a> <path-b>: wrk against A alone (CONNS), then against A and B
# at once (HALF each); rows for both.
pair() {
    local label=$1 script=$2 pa=$3 pb=$4 one one_p99 r_a r_b
    BENCH_RUN="R$(rand_hex 4)" wrk_run "$label-one" "$script" "$A$pa" "$CONNS"
    one=$W_OK_RPS
    one_p99=$W_P99
    row postgres "$label: one instance" "$one" "$one_p99" "$CONNS clients on A; load $(cut -d' ' -f1 /proc/loadavg)"
    (
        BENCH_RUN="R$(rand_hex 4)" wrk_run "$label-two-a" "$script" "$A$pa" "$HALF"
        echo "$W_OK_RPS $W_P99" >"$TMP/$label-two-a.res"
    ) &
    local wa=$!
    (
        BENCH_RUN="R$(rand_hex 4)" wrk_run "$label-two-b" "$script" "$B$pb" "$HALF"
        echo "$W_OK_RPS $W_P99" >"$TMP/$label-two-b.res"
    ) &
    local wb=$!
    wait "$wa" "$wb"
    read -r r_a p_a <"$TMP/$label-two-a.res"
    read -r r_b p_b <"$TMP/$label-two-b.res"
    row postgres "$label: two instances" "$((r_a + r_b))" "$(awk -v a="$p_a" -v b="$p_b" 'BEGIN {print (a > b) ? a : b}')" \
        "$HALF clients on each (A $r_a/s p99 $p_a ms, B $r_b/s p99 $p_b ms); $(awk -v t=$((r_a + r_b)) -v o="$one" 'BEGIN {printf "%.2f", t / o}')x one; load $(cut -d' ' -f1 /proc/loadavg)"
}
table_head
pair "GET organisations" "$BENCH_DIR/wrk.lua" "/api/v1/organisations?limit=50" "/api/v1/organisations?limit=50"
export BENCH_DRUG=$DRUG BENCH_SITE=$SITE BENCH_COHORT=$COHORT BENCH_DATE
BENCH_DATE=$(date -u +%F)
pair "POST allocations" "$BENCH_DIR/allocations.lua" \
    "/api/v1/agreements/$AGREEMENT/allocations" "/api/v1/agreements/$AGREEMENT/allocations"
sleep 1 # requests in flight when wrk stopped

# 4, second half: invitations through both instances (during the cap and idempotency runs).
invite() { # <base> <from> <to>
    local i
    for ((i = $2; i < $3; i++)); do
        curl -s -o /dev/null -w '%{http_code}\n' "$1/api/v1/invitations" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' -d "{\"email\":\"invitee-$i@bench.example.org\",\"role\":\"admin\"}"
    done
}
invite "$A" 0 $((INVITES / 2)) >"$DIR/invites-a.txt" &
INV_A=$!
invite "$B" $((INVITES / 2)) "$INVITES" >"$DIR/invites-b.txt" &
INV_B=$!

# 2. Caps under split load.
used=$(sql "SELECT patients_used FROM agreements WHERE id = '$AGREEMENT'")
sql "UPDATE agreements SET patient_cap = patients_used + $CAP WHERE id = '$AGREEMENT'" >/dev/null
(
    BENCH_RUN="CA$(rand_hex 4)" wrk_run cap-a "$BENCH_DIR/allocations.lua" "$A/api/v1/agreements/$AGREEMENT/allocations" 8
    echo "$W_OK" >"$TMP/cap-a.res"
) &
ca=$!
(
    BENCH_RUN="CB$(rand_hex 4)" wrk_run cap-b "$BENCH_DIR/allocations.lua" "$B/api/v1/agreements/$AGREEMENT/allocations" 8
    echo "$W_OK" >"$TMP/cap-b.res"
) &
cb=$!
wait "$ca" "$cb"
sleep 1
ok_a=$(<"$TMP/cap-a.res")
ok_b=$(<"$TMP/cap-b.res")
IFS='|' read -r a_used a_cap rows d_used < <(sql "SELECT
    (SELECT patients_used FROM agreements WHERE id = '$AGREEMENT'),
    (SELECT patient_cap FROM agreements WHERE id = '$AGREEMENT'),
    (SELECT count(*) FROM allocations WHERE agreement_id = '$AGREEMENT' AND status = 'active'),
    (SELECT patients_used FROM agreement_drugs WHERE agreement_id = '$AGREEMENT')")
if ((ok_a + ok_b == CAP && a_used == a_cap && rows == a_cap && d_used == rows)); then
    cap_verdict="exact"
else
    cap_verdict="NOT EXACT"
fi
CAP_LINE="cap: room for $CAP more (from $used); created $ok_a via A + $ok_b via B = $((ok_a + ok_b)); agreement counter $a_used of cap $a_cap, drug counter $d_used, active rows $rows: $cap_verdict"
log "bench: $CAP_LINE"

# 3. The same Idempotency-Key through both instances.
KEY="bench-$(rand_hex 8)"
NAME="Idempotent Bench Organisation $(rand_hex 4)"
BODY="{\"name\":\"$NAME\",\"kind\":\"biotech\",\"sector\":\"private\"}"
idem() { # <base> <n>
    curl -s -w '\n%{http_code}\n' "$1/api/v1/organisations" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -H "Idempotency-Key: $KEY" -d "$BODY" >"$TMP/idem-$2.out"
}
for round in 0 1; do
    pids=()
    for i in 0 1 2 3 4 5 6 7 8 9; do
        if ((i % 2)); then idem "$B" "$round$i" & else idem "$A" "$round$i" & fi
        pids+=($!)
    done
    wait "${pids[@]}"
done
codes=$(for f in "$TMP"/idem-*.out; do tail -1 "$f"; done | sort | uniq -c | awk '{printf "%s x %s, ", $1, $2}')
ids=$(for f in "$TMP"/idem-*.out; do
    [[ $(tail -1 "$f") == 201 ]] && head -1 "$f" | jq -r .id
done | sort -u | grep -c . || true)
orgs=$(sql "SELECT count(*) FROM organisations WHERE name = '$NAME'")
keys=$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = '$KEY'")
if [[ $orgs == 1 && $keys == 1 && $ids == 1 ]]; then idem_verdict="exact"; else idem_verdict="NOT EXACT"; fi
IDEM_LINE="idempotency: 20 requests with one key, alternating A and B, 10 at a time: ${codes%, }; distinct ids among the 201s: $ids; organisations with the name: $orgs; stored keys: $keys: $idem_verdict"
log "bench: $IDEM_LINE"

# 4. The outbox: wait for the invitations, then for both workers to drain.
wait "$INV_A" "$INV_B"
invited=$(cat "$DIR/invites-a.txt" "$DIR/invites-b.txt" | grep -c '^201$' || true)
for ((i = 0; i < 600; i++)); do
    pending=$(sql "SELECT count(*) FROM notifications WHERE state <> 'sent'")
    [[ $pending == 0 ]] && break
    sleep 0.5
done
total=$(sql "SELECT count(*) FROM notifications")
sent=$(sql "SELECT count(*) FROM notifications WHERE state = 'sent'")
files_a=$(find "$DIR/a/mail" -maxdepth 1 -name '*.eml' ! -name '.*' 2>/dev/null | wc -l)
files_b=$(find "$DIR/b/mail" -maxdepth 1 -name '*.eml' ! -name '.*' 2>/dev/null | wc -l)
distinct=$({ ls "$DIR/a/mail" "$DIR/b/mail" 2>/dev/null || true; } | grep '\.eml$' | grep -v '^\.' | sort -u | wc -l)
both=$(comm -12 <(ls "$DIR/a/mail" 2>/dev/null | grep '\.eml$' | sort) <(ls "$DIR/b/mail" 2>/dev/null | grep '\.eml$' | sort) | wc -l)
if [[ $pending == 0 && $sent == "$total" && $((files_a + files_b)) == "$total" && $distinct == "$total" && $both == 0 ]]; then
    mail_verdict="exact"
else
    mail_verdict="NOT EXACT"
fi
MAIL_LINE="outbox: $MAILS queued before the start + $invited invitations (201) through A and B = $total rows, $sent sent, $pending not sent; .eml files: $files_a in A's folder + $files_b in B's = $((files_a + files_b)), $distinct distinct, $both in both: $mail_verdict"
log "bench: $MAIL_LINE"

stop_b
stop_server
bench_summary "one vs two instances on one PostgreSQL, ${DURATION}s each"
printf '\n%s\n%s\n%s\n\n' "$CAP_LINE" "$IDEM_LINE" "$MAIL_LINE"
machine_info
[[ "$cap_verdict $idem_verdict $mail_verdict" == "exact exact exact" ]] || exit 1
