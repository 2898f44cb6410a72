#!/usr/bin/env bash
# Benchmark of the release build of `connect` on SQLite and/or PostgreSQL.
#
#   bench/run.sh [sqlite|postgres|all]        (default: all)
#
# See bench/README.md for what is measured and the targets. Every request goes to 127.0.0.1.
# Knobs (environment): BENCH_ORGS (10000), BENCH_DURATION (seconds, 10), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_LOGIN_RATE (per second, 20), BENCH_LOGIN_TOTAL (1000),
# BENCH_PG_URL (postgres://postgres@127.0.0.1:5432, a role that may create databases),
# BENCH_WARMUP (seconds of unrecorded load before the scenarios, 3), BENCH_SERVER_ENV (extra
# settings for the server, e.g. "CONNECT_HASH_CONCURRENCY=1 CONNECT_WORKERS=1"),
# BENCH_KEEP=1 keeps the temporary folder (server logs, raw wrk output).
set -euo pipefail

if ((BASH_VERSINFO[0] < 5)); then
    echo "bench/run.sh needs bash 5 or newer (for EPOCHREALTIME)" >&2
    exit 2
fi

# The arguments, the tools, the release build (BIN), the temporary folder (TMP) and the clean-up
# on exit; DURATION, CONNS, THREADS and PG_URL from their BENCH_* knobs; no CONNECT_* setting of
# the caller's reaches the server.
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run all 12 "$@"

ORGS=${BENCH_ORGS:-10000}
LOGIN_RATE=${BENCH_LOGIN_RATE:-20}
LOGIN_TOTAL=${BENCH_LOGIN_TOTAL:-1000}
WARMUP=${BENCH_WARMUP:-3}
read -r -a SERVER_ENV <<<"${BENCH_SERVER_ENV:-}"
PAGE=50

# Targets (from the issue).
declare -A T_RPS=([sqlite]=2500 [postgres]=1500)
declare -A T_P99=([sqlite]=20 [postgres]=30)
T_P99_UNDER_LOGINS=40
T_RSS_MIB=100

LUA=$BENCH_DIR/wrk.lua
LOAD_PID=""

# Called by bench_cleanup before the server is stopped.
bench_on_exit() {
    if [[ -n $LOAD_PID ]]; then
        kill "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# CPU ticks used by the server so far; "busy total" ticks of the whole machine (all cores).
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0; }
host_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat; }

# "pid ticks" of the PostgreSQL backends serving the benchmark database (when PostgreSQL runs on
# this machine; nothing otherwise).
pg_snapshot() {
    [[ $BACKEND == postgres && -n $PG_DB ]] || return 0
    local p
    for p in $(psql "$PG_URL/postgres" -qAt \
        -c "SELECT pid FROM pg_stat_activity WHERE datname = '$PG_DB'" 2>/dev/null || true); do
        awk -v p="$p" '{print p, $14 + $15}' "/proc/$p/stat" 2>/dev/null || true
    done
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# The microsecond wall clock, into NOW_US (no fork).
now_us() { NOW_US=${EPOCHREALTIME/[.,]/}; }

# Percentile (0-100) of the numbers in a file, one per line.
percentile() {
    sort -g "$2" | awk -v q="$1" '{a[NR] = $1} END {
        if (NR == 0) { print "n/a"; exit }
        i = int(q / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
        printf "%.1f\n", a[i] }'
}

# True when $1 $2 $3 holds numerically (e.g. `holds 12.5 '<' 20`).
holds() { awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
    r = (op == "<") ? a < b : (op == "<=") ? a <= b : (op == ">=") ? a >= b : a > b; exit !r }'; }

TABLE_FMT='%-9s %-32s %9s %9s %9s  %s\n'
table_header() {
    # shellcheck disable=SC2059
    printf "$TABLE_FMT" backend scenario "req/s" "p50 ms" "p99 ms" notes
    # shellcheck disable=SC2059
    printf "$TABLE_FMT" "-------" "--------" "-----" "------" "------" "-----"
}

declare -A R_RPS R_P50 R_P99 R_NOTE R_RSS
declare -a R_ORDER=()
LOGINS=0

# run_wrk <label> <url> <token> <body>: runs one wrk scenario (a body makes it a POST); sets W_REQ,
# W_OK (responses below 400), W_RPS, W_P50 and W_P99 (ms), W_NOTE and the W_CPU_* figures.
run_wrk() {
    local label=$1 url=$2 token=$3 body=$4
    local out="$TMP/$BACKEND-$label.wrk"
    local s0 h0 s1 h1 wrk_cpu pg_ticks TIMEFORMAT='%U %S'
    pg_snapshot >"$out.pg0"
    s0=$(server_ticks)
    h0=$(host_ticks)
    if ! { time BENCH_TOKEN=$token BENCH_BODY=$body timeout $((DURATION + 60)) \
        wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency --timeout 10s -s "$LUA" "$url" \
        >"$out" 2>&1; } 2>"$out.time"; then
        cat "$out" >&2
        die "wrk failed for $label"
    fi
    s1=$(server_ticks)
    h1=$(host_ticks)
    pg_snapshot >"$out.pg1"
    wrk_cpu=$(awk '{print $1 + $2; exit}' "$out.time")
    # CPU ticks of the backends, per pid: now minus before (0 for connections opened meanwhile).
    pg_ticks=$(awk 'NR == FNR {t0[$1] = $2; next} {d += $2 - ($1 in t0 ? t0[$1] : 0)} END {print d + 0}' \
        "$out.pg0" "$out.pg1")
    local line kv req=0 dur=1 p50=0 p99=0 serr=0 sockerr=0
    line=$(grep '^BENCH_RESULT' "$out" || true)
    [[ -n $line ]] || {
        cat "$out" >&2
        die "no result from wrk for $label"
    }
    for kv in $line; do
        case ${kv%%=*} in
        requests) req=${kv#*=} ;;
        duration_us) dur=${kv#*=} ;;
        p50_us) p50=${kv#*=} ;;
        p99_us) p99=${kv#*=} ;;
        status_errors) serr=${kv#*=} ;;
        socket_errors) sockerr=${kv#*=} ;;
        esac
    done
    W_REQ=$req
    W_OK=$((req - serr))
    W_RPS=$(awk -v r="$req" -v d="$dur" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
    W_P50=$(awk -v u="$p50" 'BEGIN {printf "%.2f", u / 1000}')
    W_P99=$(awk -v u="$p99" 'BEGIN {printf "%.2f", u / 1000}')
    W_NOTE="$req requests"
    ((serr == 0)) || W_NOTE+=", $serr with status >= 400"
    ((sockerr == 0)) || W_NOTE+=", $sockerr socket errors/timeouts"
    # Where the CPU went, in % of one core: see cpu_note.
    read -r W_CPU_HOST W_CPU_SERVER W_CPU_CLIENT W_CPU_PG < <(awk -v s="$((s1 - s0))" -v pg="$pg_ticks" \
        -v w="$wrk_cpu" -v hz="$CLK_TCK" -v d="$dur" -v h0="$h0" -v h1="$h1" 'BEGIN {
        secs = d / 1e6; split(h0, a, " "); split(h1, b, " ")
        printf "%.1f %.1f %.1f %.1f\n", 100 * (b[1] - a[1]) / hz / secs, 100 * s / hz / secs,
            100 * w / secs, 100 * pg / hz / secs }')
}

# The CPU used during the last wrk run, in % of one core: the server, the clients (wrk, and the
# login loader in scenario 4), PostgreSQL's backends for this database, and everything else on the
# machine. On a shared machine a large "other" means the figures are depressed.
cpu_note() {
    awk -v host="$W_CPU_HOST" -v srv="$W_CPU_SERVER" -v cl="$W_CPU_CLIENT" -v pg="$W_CPU_PG" \
        -v backend="$BACKEND" 'BEGIN {
        other = host - srv - cl - pg; if (other < 0) other = 0
        printf "cpu: server %.0f%%, client %.0f%%", srv, cl
        if (backend == "postgres") printf ", postgres %.0f%%", pg
        printf ", other %.0f%%", other }'
}

record() { # <scenario> [extra note]
    local key="$BACKEND/$1" note
    note="$W_NOTE, $(cpu_note)"
    [[ -z ${2:-} ]] || note+="; $2"
    R_RPS[$key]=$W_RPS
    R_P50[$key]=$W_P50
    R_P99[$key]=$W_P99
    R_NOTE[$key]=$note
    R_ORDER+=("$key")
    # shellcheck disable=SC2059
    printf "$TABLE_FMT" "$BACKEND" "$1" "$W_RPS" "$W_P50" "$W_P99" "$note"
}

# Open-loop login load: <rate>/s for <seconds>, each login in its own curl (so a slow answer does
# not slow the rate); "status seconds" lines go to <file>. Bounded: rate*seconds requests, 10 s each.
login_load() {
    local rate=$1 secs=$2 file=$3 n i start delay
    n=$((rate * secs))
    now_us
    start=$NOW_US
    for ((i = 0; i < n; i++)); do
        now_us
        delay=$((start + i * 1000000 / rate - NOW_US))
        if ((delay > 0)); then
            sleep "$((delay / 1000000)).$(printf '%06d' $((delay % 1000000)))"
        fi
        curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' \
            -H 'Content-Type: application/json' -d "$LOGIN_BODY" \
            "$BASE/api/v1/auth/login" >>"$file" 2>/dev/null &
    done
    wait
}

# Starts login_load detached from this shell (so its CPU is not charged to wrk's `time`); it
# writes its own CPU use (the shell's `times`, children included) to <file>.times when done.
start_login_load() { # <rate> <seconds> <file>
    rm -f "$3.done" "$3.times"
    (
        (
            login_load "$@"
            times >"$3.times"
            : >"$3.done"
        ) &
        echo $! >"$3.pid"
    )
    LOAD_PID=$(cat "$3.pid")
}

# Waits (bounded) for the login loader; sets LOADER_CPU (seconds).
wait_login_load() { # <file>
    local i
    for ((i = 0; i < (DURATION + 40) * 10; i++)); do
        [[ -e $1.done ]] && break
        sleep 0.1
    done
    [[ -e $1.done ]] || log "bench: the login loader did not finish in time"
    LOAD_PID=""
    # `times` prints "XmY.YYYs XmY.YYYs" for the shell, then for its children.
    LOADER_CPU=$(awk '{for (i = 1; i <= 2; i++) {split($i, t, /[ms]/); s += t[1] * 60 + t[2]}}
        END {printf "%.2f", s}' "$1.times" 2>/dev/null || echo 0)
}

# ---------------------------------------------------------------------------------------------
# One backend
# ---------------------------------------------------------------------------------------------
bench_backend() {
    LOGINS=0
    bench_db "$1"
    bench_env "${SERVER_ENV[@]}"
    local dir=$DIR
    LOGIN_BODY="{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}"

    log ""
    log "bench: [$BACKEND] seeding $ORGS organisations"
    local t0 t1
    now_us
    t0=$NOW_US
    env "${ENV[@]}" "$BIN" seed bulk --organisations "$ORGS" >"$dir/seed.log" 2>&1 || {
        cat "$dir/seed.log" >&2
        die "seeding failed"
    }
    now_us
    t1=$NOW_US
    log "bench: [$BACKEND] $(cat "$dir/seed.log") in $(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1e6}') s"
    if [[ $BACKEND == postgres ]]; then
        # What autovacuum would do within a minute of the load; makes runs repeatable.
        sql "ANALYZE" >/dev/null
    fi

    # Started, and the admin signed in (the first login).
    start_server
    LOGINS=$((LOGINS + 1))
    log "bench: [$BACKEND] serving at $BASE (pid $SERVER_PID, $(nproc) cores)"

    # A cursor in the middle of the list.
    local token=$TOKEN
    local first_url="$BASE/api/v1/organisations?limit=$PAGE"
    local page_body="$dir/page.json" page_headers="$dir/page.headers"
    curl -fsS -m 10 -D "$page_headers" -o "$page_body" -H "Authorization: Bearer $token" \
        "$first_url" || die "the first page failed"
    local items etag bytes
    items=$(grep -o '"membership_status"' "$page_body" | wc -l)
    bytes=$(wc -c <"$page_body")
    etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$page_headers")
    local cursor walk pages=0
    walk=$((ORGS / PAGE / 2))
    ((walk >= 1)) || walk=1
    cursor=$(sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p' "$page_body")
    while [[ -n $cursor ]] && ((pages < walk - 1)); do
        pages=$((pages + 1))
        cursor=$(curl -fsS -m 10 -H "Authorization: Bearer $token" "$first_url&cursor=$cursor" |
            sed -n 's/.*"next_cursor":"\([^"]*\)".*/\1/p') || die "walking the pages failed"
    done
    [[ -n $cursor ]] || die "no cursor after $((pages + 1)) pages (are there $ORGS organisations?)"
    local middle_url="$first_url&cursor=$cursor"
    log "bench: [$BACKEND] page: $items items, $bytes bytes, ETag: ${etag:-none}; middle cursor after $((pages + 1)) pages"

    local rss_before
    rss_before=$(rss_kib)
    printf 'RSS at start: %s MiB\n' "$(mib "$rss_before")"
    if ((WARMUP > 0)); then
        # Unrecorded: fills the connection pool and the caches, as on a server that has been up.
        BENCH_TOKEN=$token timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
            -s "$LUA" "$first_url" >"$dir/warmup.wrk" 2>&1 || true
        rss_before=$(rss_kib)
    fi
    R_RSS[$BACKEND/before]=$rss_before
    printf 'RSS before the scenarios: %s MiB (after a %d s warm-up)\n' "$(mib "$rss_before")" "$WARMUP"
    table_header

    # 1. liveness
    run_wrk healthz "$BASE/healthz" "" ""
    record "healthz"

    # 2. first page
    run_wrk list-first "$first_url" "$token" ""
    record "list first page (limit $PAGE)"

    # 3. a page in the middle
    run_wrk list-middle "$middle_url" "$token" ""
    record "list middle page (cursor)"

    # 4. first page while logins arrive at LOGIN_RATE/s
    local lfile="$dir/login-load.txt"
    : >"$lfile"
    start_login_load "$LOGIN_RATE" "$DURATION" "$lfile"
    run_wrk list-under-logins "$first_url" "$token" ""
    wait_login_load "$lfile"
    W_CPU_CLIENT=$(awk -v c="$W_CPU_CLIENT" -v l="$LOADER_CPU" -v d="$DURATION" \
        'BEGIN {printf "%.1f", c + 100 * l / d}')
    local sent ok lp50 lp99
    sent=$(wc -l <"$lfile")
    ok=$(awk '$1 == 200' "$lfile" | wc -l)
    LOGINS=$((LOGINS + ok))
    awk '$1 == 200 {print $2 * 1000}' "$lfile" >"$lfile.ms"
    lp50=$(percentile 50 "$lfile.ms")
    lp99=$(percentile 99 "$lfile.ms")
    record "list first page + ${LOGIN_RATE} logins/s" \
        "logins: $ok/$sent ok, p50 $lp50 ms, p99 $lp99 ms"

    # 5. logins alone
    run_wrk logins "$BASE/api/v1/auth/login" "" "$LOGIN_BODY"
    LOGINS=$((LOGINS + W_OK))
    record "logins (POST /auth/login)"

    local rss_after
    rss_after=$(rss_kib)
    R_RSS[$BACKEND/after]=$rss_after
    printf 'RSS after scenarios: %s MiB (%d logins so far)\n' "$(mib "$rss_after")" "$LOGINS"

    # Top up to LOGIN_TOTAL logins, four at a time.
    local missing=$((LOGIN_TOTAL - LOGINS))
    if ((missing > 0)); then
        local more
        more=$(seq "$missing" | timeout 900 xargs -P 4 -I{} \
            curl -s -o /dev/null -m 30 -w '%{http_code}\n' -H 'Content-Type: application/json' \
            -H 'X-Request-Id: bench-login-{}' -d "$LOGIN_BODY" "$BASE/api/v1/auth/login" |
            grep -c '^200$' || true)
        LOGINS=$((LOGINS + more))
    fi
    local rss_logins hwm
    rss_logins=$(rss_kib)
    hwm=$(hwm_kib)
    R_RSS[$BACKEND/logins]=$rss_logins
    R_RSS[$BACKEND/logins_n]=$LOGINS
    R_RSS[$BACKEND/peak]=$hwm
    printf 'RSS after %d logins: %s MiB (peak %s MiB)\n' "$LOGINS" "$(mib "$rss_logins")" "$(mib "$hwm")"

    local warnings
    warnings=$(grep -cE 'WARN|ERROR' "$dir/server.log" || true)
    if ((warnings > 0)); then
        log "bench: [$BACKEND] the server logged $warnings warnings or errors; the first ones:"
        grep -E 'WARN|ERROR' "$dir/server.log" | head -n 5 >&2
    fi

    stop_server
    drop_pg_db
}

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------
echo "connect benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -m)"
echo "$ORGS organisations, wrk -t$THREADS -c$CONNS -d${DURATION}s, $("$BIN" --version)"
((${#SERVER_ENV[@]} == 0)) || echo "server settings: ${SERVER_ENV[*]}"

for b in "${BACKENDS[@]}"; do
    echo
    echo "== $b"
    bench_backend "$b"
done

echo
echo "== summary"
table_header
for key in "${R_ORDER[@]}"; do
    # shellcheck disable=SC2059
    printf "$TABLE_FMT" "${key%%/*}" "${key#*/}" "${R_RPS[$key]}" "${R_P50[$key]}" "${R_P99[$key]}" ""
done | sed 's/ *$//'

echo
echo "== targets"
check() { # <backend> <description> <value> <op> <limit> <unit>
    local verdict=MISS
    holds "$3" "$4" "$5" && verdict=PASS
    printf '%-4s  %-9s %-52s %10s %s (target %s %s)\n' "$verdict" "$1" "$2" "$3" "$6" "$4 $5" "$6"
}
for b in "${BACKENDS[@]}"; do
    first="$b/list first page (limit $PAGE)"
    middle="$b/list middle page (cursor)"
    loaded="$b/list first page + ${LOGIN_RATE} logins/s"
    check "$b" "list first page: throughput" "${R_RPS[$first]}" ">=" "${T_RPS[$b]}" "req/s"
    check "$b" "list first page: p99" "${R_P99[$first]}" "<" "${T_P99[$b]}" "ms"
    check "$b" "list middle page: throughput" "${R_RPS[$middle]}" ">=" "${T_RPS[$b]}" "req/s"
    check "$b" "list middle page: p99" "${R_P99[$middle]}" "<" "${T_P99[$b]}" "ms"
    check "$b" "list p99 during ${LOGIN_RATE} logins/s" "${R_P99[$loaded]}" "<" "$T_P99_UNDER_LOGINS" "ms"
    check "$b" "RSS after ${R_RSS[$b/logins_n]} logins" "$(mib "${R_RSS[$b/logins]}")" "<" "$T_RSS_MIB" "MiB"
done
