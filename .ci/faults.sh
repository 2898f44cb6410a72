#!/usr/bin/env bash
# Real faults against the release binary (`.ci/faults.sh`; as root, with PostgreSQL 15 installed;
# about a minute):
#   1. PostgreSQL stopped for three seconds and started again under read and write load, on a
#      private cluster made for the run (pg_createcluster, dropped on exit): no 500 at all, 503s
#      with Retry-After while it is down, /readyz 503 while down and 200 again within seconds
#      without restarting the service, and no wrong answer (organisations counted afterwards
#      equal the 201s; writes retried with their Idempotency-Key after a 503 make exactly one
#      record each).
#   2. SIGTERM with requests in flight and the mail worker draining a backlog: every request in
#      flight gets its complete answer, the process exits 0 within the shutdown timeout, no
#      message is left claimed by the stopped process, the .eml files written are exactly the
#      messages marked sent, and the next start sends the rest, each once.
#   3. SQLite on a 16 MiB tmpfs with the disk filled, then a database and its WAL made immutable
#      (chattr +i; chmod does not stop root): writes answer 503 storage-unavailable with
#      Retry-After while reads go on, writes work again once the fault is cleared, and
#      PRAGMA integrity_check says ok with every acknowledged write in the file.
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C
# The servers are configured by this script alone, never by the caller's environment.
clear_connect_env

fail() {
  echo "faults: FAIL: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "run as root (it makes a PostgreSQL cluster and mounts a tmpfs)"
need curl jq wrk python3
command -v pg_createcluster >/dev/null || fail "pg_createcluster (postgresql-common) is required"
pg_version=$(ls /etc/postgresql | sort -n | tail -1)

build_release
make_tmp faults
cluster=connect_faults
background=()
disk=$tmp/disk
frozen=""
# On exit, after the server is stopped (.ci/lib.sh): the load, the faults and the cluster undone.
undo_faults() {
  local pid
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n $frozen ]]; then chattr -i "$frozen" "$frozen-wal" 2>/dev/null || true; fi
  if mountpoint -q "$disk" 2>/dev/null; then umount -l "$disk" || true; fi
  pg_dropcluster --stop "$pg_version" "$cluster" 2>/dev/null || true
}
on_exit undo_faults

password="faults-$(rand_hex 12)"
secret=$(rand_hex 32)

# connect_env <name> <database url> [VAR=value…]: the environment of a server called <name>
# (its data folder is $tmp/<name>), in ENV.
connect_env() {
  local name=$1 url=$2
  shift 2
  mkdir -p "$tmp/$name"
  ENV=(CONNECT_DATABASE_URL="$url" CONNECT_DATA_DIR="$tmp/$name"
    CONNECT_BIND="127.0.0.1:$port" CONNECT_PUBLIC_URL="http://127.0.0.1:$port"
    CONNECT_ADMIN_EMAIL=faults@example.org CONNECT_ADMIN_PASSWORD="$password"
    CONNECT_JWT_SECRET="$secret" RUST_LOG=warn "$@")
}

# start_server <name> <database url> [VAR=value…]: server (its pid), base, token (an admin's).
start_server() {
  pick_port
  connect_env "$@"
  serve "$tmp/$1/server.log" "${ENV[@]}" || fail "the $1 server did not start"
  token=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"faults@example.org\",\"password\":\"$password\"}" | jq -r .access_token)
  [[ -n $token && $token != null ]] || fail "no session on the $1 server"
}

# post_org <name> [extra curl args…]: creates an organisation; prints the status, and the
# problem type and Retry-After of a refusal.
post_org() {
  local name=$1
  shift
  curl -s -o "$tmp/post.body" -D "$tmp/post.head" -w '%{http_code}' "$base/api/v1/organisations" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@" \
    -d "{\"name\":\"$name\",\"kind\":\"pharma\",\"sector\":\"private\"}" || true
}
retry_after() { tr -d '\r' <"$tmp/post.head" | awk -F': ' 'tolower($1)=="retry-after"{print $2}'; }
problem_type() { jq -r '.type // empty' "$tmp/post.body" 2>/dev/null || true; }

# result <wrk output> <key>: a number from its FAULTS_RESULT line (0 when absent).
result() {
  local line
  line=$(grep '^FAULTS_RESULT' "$1") || { cat "$1" >&2; fail "no result from wrk ($1)"; }
  grep -o "\b$2=[0-9]*" <<<"$line" | cut -d= -f2 | grep . || echo 0
}
statuses() { grep '^FAULTS_RESULT' "$1" | grep -o '\bs[0-9]*=[0-9]*' | tr '\n' ' '; }

# A private PostgreSQL cluster, so stopping it disturbs nobody else.
pg_dropcluster --stop "$pg_version" "$cluster" 2>/dev/null || true
pg_port=$(free_port)
pg_createcluster "$pg_version" "$cluster" -p "$pg_port" --start -- --auth-local=trust --auth-host=trust >/dev/null
pg="postgres://postgres@127.0.0.1:$pg_port"
for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done
sql() { psql "$1" -qAt -v ON_ERROR_STOP=1 -c "$2"; }

echo "--- 1. PostgreSQL stopped and started again under load"
sql "$pg/postgres" "CREATE DATABASE faults_restart" >/dev/null
start_server restart "$pg/faults_restart" CONNECT_MAIL_WORKER=false
run="wrk-$(rand_hex 4)"
FAULTS_TOKEN=$token FAULTS_MODE=read wrk -t2 -c4 -d14s --timeout 15s -s .ci/faults.lua "$base" >"$tmp/read.wrk" 2>&1 &
reads=$!
FAULTS_TOKEN=$token FAULTS_MODE=write FAULTS_RUN=$run wrk -t1 -c2 -d14s --timeout 15s -s .ci/faults.lua "$base" >"$tmp/write.wrk" 2>&1 &
writes=$!
background+=("$reads" "$writes")
(while :; do
  printf '%s %s\n' "$EPOCHREALTIME" "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base/readyz")"
  sleep 0.1
done) >"$tmp/readyz.log" &
poller=$!
background+=("$poller")
# One writer that retries after a 503 with the same Idempotency-Key, as a client should.
keyed=40
# A key whose claim was taken just before the database went away stays "in progress" (409
# idempotency-key-in-use) until a retry takes it over a minute after the claim, since releasing it
# needs the database too; one whose work committed but whose answer was lost stays so for five
# minutes (then idempotency-response-lost). Such a key is counted as in doubt and left, and must
# not have made two records.
(
  retried=0 gave_up=0 no_retry_after=0 other=0 in_doubt=0
  for i in $(seq 1 "$keyed"); do
    for attempt in $(seq 1 100); do
      status=$(post_org "$run keyed $i" -H "Idempotency-Key: $run-$i")
      case $status in
      201) break ;;
      503)
        retried=$((retried + 1))
        [[ -n $(retry_after) ]] || no_retry_after=$((no_retry_after + 1))
        ;;
      409)
        if [[ $(problem_type) == /problems/idempotency-key-in-use ]] && ((attempt >= 10)); then
          in_doubt=$((in_doubt + 1))
          break
        fi
        [[ $(problem_type) == /problems/idempotency-key-in-use ]] || other=$((other + 1))
        ;;
      *) other=$((other + 1)); echo "keyed write $i: $status $(cat "$tmp/post.body")" >&2 ;;
      esac
      ((attempt < 100)) || gave_up=$((gave_up + 1))
      sleep 0.2
    done
    sleep 0.25
  done
  echo "$retried $gave_up $no_retry_after $other $in_doubt" >"$tmp/keyed.result"
) &
keyed_pid=$!
background+=("$keyed_pid")
sleep 4
t_stop=$EPOCHREALTIME
pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$cluster" stop -m fast
sleep 3
t_start=$EPOCHREALTIME
pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$cluster" start
t_up=$EPOCHREALTIME
wait "$reads" "$writes" "$keyed_pid"
kill "$poller" 2>/dev/null || true
wait "$poller" 2>/dev/null || true
background=()

echo "    reads:  $(statuses "$tmp/read.wrk")"
echo "    writes: $(statuses "$tmp/write.wrk")"
read -r keyed_retried keyed_gave_up keyed_no_retry_after keyed_other keyed_in_doubt <"$tmp/keyed.result"
for f in read write; do
  [[ $(result "$tmp/$f.wrk" socket_errors) == 0 ]] || fail "$f: socket errors: $(grep '^FAULTS_RESULT' "$tmp/$f.wrk")"
  [[ $(result "$tmp/$f.wrk" no_retry_after) == 0 ]] || fail "$f: a 503 without Retry-After"
done
unexpected=$(grep -h '^FAULTS_RESULT' "$tmp/read.wrk" | grep -o '\bs[0-9]*=' | grep -v -e '^s200=' -e '^s503=' || true)
[[ -z $unexpected ]] || fail "reads answered $unexpected"
unexpected=$(grep -h '^FAULTS_RESULT' "$tmp/write.wrk" | grep -o '\bs[0-9]*=' | grep -v -e '^s201=' -e '^s503=' || true)
[[ -z $unexpected ]] || fail "writes answered $unexpected"
unavailable=$(($(result "$tmp/read.wrk" s503) + $(result "$tmp/write.wrk" s503)))
((unavailable > 0)) || fail "no request met the stopped database (no 503): the fault did not happen"
created=$(result "$tmp/write.wrk" s201)
stored=$(sql "$pg/faults_restart" "SELECT count(*) FROM organisations WHERE name LIKE '$run %' AND name NOT LIKE '$run keyed %'")
# A write whose COMMIT was under way when PostgreSQL ended its connection may have been applied
# though it was answered 503 (the client cannot be told: the answer to COMMIT was lost), so the
# database may hold more than the 201s, by at most the writes' 503s; never fewer.
write_503=$(result "$tmp/write.wrk" s503)
((stored >= created && stored - created <= write_503)) ||
  fail "wrk got $created 201s (and $write_503 503s) for writes, the database holds $stored of them"
in_doubt=$((stored - created))
IFS='|' read -r stored_keyed twice < <(sql "$pg/faults_restart" "SELECT count(*), count(*) - count(DISTINCT name) FROM organisations WHERE name LIKE '$run keyed %'")
((twice == 0)) || fail "keyed writes: $twice made a second record"
((stored_keyed <= keyed && stored_keyed >= keyed - keyed_in_doubt)) && ((keyed_gave_up == 0 && keyed_other == 0 && keyed_no_retry_after == 0)) ||
  fail "keyed writes: $stored_keyed stored of $keyed ($keyed_retried retried after 503, $keyed_in_doubt in doubt, $keyed_gave_up given up, $keyed_other other answers, $keyed_no_retry_after 503s without Retry-After)"
((keyed_in_doubt == 0)) || echo "    note: $keyed_in_doubt keyed writes in doubt (claimed as the database went away: taken over after a minute, or committed with the answer lost)"
# Recovery is counted from when `pg_ctlcluster start` returned (PostgreSQL accepting again).
read -r down_503 other_codes recovery pg_start < <(python3 - "$tmp/readyz.log" "$t_stop" "$t_start" "$t_up" <<'EOF'
import sys
log, t_stop, t_start, t_up = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = [(float(t), c) for t, c in (line.split() for line in open(log) if len(line.split()) == 2)]
down = sum(1 for t, c in rows if t_stop + 0.5 < t < t_start and c == "503")
other = sum(1 for _, c in rows if c not in ("200", "503"))
back = [t for t, c in rows if t > t_start and c == "200"]
print(down, other, f"{max(0.0, back[0] - t_up):.1f}" if back else "never", f"{t_up - t_start:.1f}")
EOF
)
((down_503 > 0)) || fail "/readyz never answered 503 while PostgreSQL was down"
((other_codes == 0)) || fail "/readyz answered $other_codes times with neither 200 nor 503"
[[ $recovery != never ]] || fail "/readyz did not answer 200 again after PostgreSQL started"
python3 -c "import sys; sys.exit(0 if float('$recovery') <= 10 else 1)" || fail "/readyz took ${recovery}s to recover"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/organisations" -H "Authorization: Bearer $token") == 200 ]] ||
  fail "the service does not serve after PostgreSQL came back"
echo "    no 500; $unavailable requests answered 503 with Retry-After while PostgreSQL was down;"
echo "    /readyz 503 while down ($down_503 polls), 200 again ${recovery}s after PostgreSQL was up (its start took ${pg_start}s);"
echo "    $created writes acknowledged, $stored stored ($in_doubt of the $write_503 writes answered 503 had committed: COMMIT in doubt);"
echo "    $keyed keyed writes ($keyed_retried retries after 503) = $stored_keyed stored, none twice"
stop_server
[[ $server_rc == 0 ]] || fail "the server exited $server_rc on SIGTERM"

echo "--- 2. SIGTERM with requests in flight and the outbox draining"
mails=${FAULTS_MAILS:-4000}
invites=8
sql "$pg/postgres" "CREATE DATABASE faults_sigterm" >/dev/null
port=$(free_port)
connect_env sigterm "$pg/faults_sigterm"
env -i PATH="$PATH" "${ENV[@]}" "$bin" seed bulk --organisations 0 --notifications "$mails" >/dev/null
# One message at a time and one password hash at a time: the backlog takes seconds to send and
# logins queue, so both are under way when the signal comes.
worker_env=(CONNECT_MAIL_CONCURRENCY=1 CONNECT_HASH_CONCURRENCY=1 RUST_LOG=info)
start_server sigterm "$pg/faults_sigterm" "${worker_env[@]}"
mkdir -p "$tmp/inflight"
for i in $(seq 1 8); do
  curl -s -o "$tmp/inflight/login-$i.body" -w '%{http_code}\n' --max-time 60 "$base/api/v1/auth/login" \
    -H 'Content-Type: application/json' -d "{\"email\":\"faults@example.org\",\"password\":\"$password\"}" \
    >"$tmp/inflight/login-$i.status" 2>/dev/null &
  background+=($!)
done
for i in $(seq 1 "$invites"); do
  curl -s -o "$tmp/inflight/invite-$i.body" -w '%{http_code}\n' --max-time 60 "$base/api/v1/invitations" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"email\":\"invitee-$i@example.org\",\"role\":\"admin\"}" >"$tmp/inflight/invite-$i.status" 2>/dev/null &
  background+=($!)
done
sleep 0.3
t_term=$EPOCHREALTIME
stop_server
t_exit=$EPOCHREALTIME
wait "${background[@]}" 2>/dev/null || true
background=()
stopped_in=$(python3 -c "print(f'{$t_exit - $t_term:.1f}')")
[[ $server_rc == 0 ]] || fail "the server exited $server_rc on SIGTERM"
python3 -c "import sys; sys.exit(0 if $t_exit - $t_term <= 30 else 1)" || fail "the server took ${stopped_in}s to stop"
logins_ok=$(cat "$tmp"/inflight/login-*.status | grep -c '^200$' || true)
invites_ok=$(cat "$tmp"/inflight/invite-*.status | grep -c '^201$' || true)
[[ $logins_ok == 8 ]] || fail "in-flight logins: $(cat "$tmp"/inflight/login-*.status | tr '\n' ' ')"
[[ $invites_ok == "$invites" ]] || fail "in-flight invitations: $(cat "$tmp"/inflight/invite-*.status | tr '\n' ' ')"
[[ -z $(grep -L access_token "$tmp"/inflight/login-*.body) ]] || fail "an in-flight login's answer is incomplete"
counts() { sql "$pg/faults_sigterm" "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sending'), count(*) FILTER (WHERE state = 'sent'), count(*) FROM notifications"; }
IFS='|' read -r pending sending sent total < <(counts)
mail_dir=$tmp/sigterm/mail
eml_ids() { find "$mail_dir" -maxdepth 1 -name '*.eml' -printf '%f\n' 2>/dev/null | sed 's/\.eml$//' | sort; }
sent_ids() { sql "$pg/faults_sigterm" "SELECT id FROM notifications WHERE state = 'sent'" | sort; }
[[ $total == $((mails + invites)) ]] || fail "the outbox holds $total messages, not $mails queued + $invites invitations"
[[ $sending == 0 ]] || fail "$sending messages were left claimed by the stopped process"
((pending > 0)) || fail "the backlog was sent before SIGTERM (raise FAULTS_MAILS): nothing was proven"
[[ $(eml_ids) == "$(sent_ids)" ]] || fail "the .eml files written are not exactly the messages marked sent ($(eml_ids | wc -l) files, $sent sent)"
released=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/sigterm/server.log" | grep -o 'released=[0-9]*' | tail -1 | cut -d= -f2 || true)
echo "    SIGTERM with 8 logins and $invites invitations in flight: all answered (8 × 200, $invites × 201);"
echo "    exit 0 after ${stopped_in}s; outbox: $sent sent (= .eml files), $pending pending, 0 left claimed (${released:-0} released)"
start_server sigterm "$pg/faults_sigterm" RUST_LOG=info
t_restart=$EPOCHREALTIME
for _ in $(seq 1 600); do
  IFS='|' read -r pending sending sent total < <(counts)
  ((pending + sending == 0)) && break
  sleep 0.2
done
drained_in=$(python3 -c "print(f'{$EPOCHREALTIME - $t_restart:.1f}')")
stop_server
[[ $server_rc == 0 ]] || fail "the second server exited $server_rc on SIGTERM"
IFS='|' read -r pending sending sent total < <(counts)
[[ $sent == "$total" ]] || fail "after the second start: $sent of $total sent ($pending pending, $sending sending)"
[[ $(eml_ids) == "$(sent_ids)" ]] || fail "after the second start the .eml files are not exactly the messages sent"
echo "    the next start sent the rest in ${drained_in}s: $sent of $total sent, one .eml file each"

echo "--- 3. SQLite on a full disk, then on a read-only file"
mkdir -p "$disk"
mount -t tmpfs -o size=16m,mode=0700 tmpfs "$disk" || fail "cannot mount a tmpfs here"
start_server sqlite "sqlite://$disk/connect.db" CONNECT_MAIL_WORKER=false
acknowledged=0
for i in 1 2 3; do
  [[ $(post_org "before $i") == 201 ]] || fail "a write before the fault: $(cat "$tmp/post.body")"
  acknowledged=$((acknowledged + 1))
done
dd if=/dev/zero of="$disk/filler" bs=64k status=none 2>/dev/null || true
refused=""
for i in $(seq 1 5000); do
  status=$(post_org "full $i")
  case $status in
  201) acknowledged=$((acknowledged + 1)) ;;
  503) refused=$i; break ;;
  *) fail "a write on the full disk answered $status: $(cat "$tmp/post.body")" ;;
  esac
done
[[ -n $refused ]] || fail "5000 writes on the full disk were all accepted"
[[ $(problem_type) == /problems/storage-unavailable && $(retry_after) == 30 ]] ||
  fail "the refusal: $(cat "$tmp/post.body") (Retry-After: $(retry_after))"
detail=$(jq -r .detail "$tmp/post.body")
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/organisations" -H "Authorization: Bearer $token") == 200 ]] ||
  fail "reads stopped on the full disk"
rm "$disk/filler"
[[ $(post_org "after full") == 201 ]] || fail "a write after the disk was freed: $(cat "$tmp/post.body")"
acknowledged=$((acknowledged + 1))
echo "    disk full after $((refused - 1)) more writes: 503 storage-unavailable, Retry-After 30 (\"$detail\"); reads 200; writes 201 once freed"
stop_server
[[ $server_rc == 0 ]] || fail "the SQLite server exited $server_rc on SIGTERM"
# integrity <file> <prefixes…>: PRAGMA integrity_check, and the organisations named so.
integrity() {
  python3 - "$@" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
where = " OR ".join("name LIKE ?" for _ in sys.argv[2:])
stored = c.execute(f"SELECT count(*) FROM organisations WHERE {where}", [p + "%" for p in sys.argv[2:]]).fetchone()[0]
print(integrity, stored)
EOF
}
read -r integrity stored < <(integrity "$disk/connect.db" "before " "full " "after ")
[[ $integrity == ok ]] || fail "PRAGMA integrity_check after the full disk: $integrity"
[[ $stored == "$acknowledged" ]] || fail "$acknowledged writes acknowledged on the full disk's database, $stored stored"
echo "    integrity_check ok; $acknowledged writes acknowledged = $stored stored"
# Read-only on the temporary folder's own file system: tmpfs checks the immutable flag only when
# a file is opened, so open connections would go on writing there.
ro=$tmp/readonly/connect.db
start_server readonly "sqlite://$ro" CONNECT_MAIL_WORKER=false
[[ $(post_org "before read-only") == 201 ]] || fail "a write before the fault: $(cat "$tmp/post.body")"
frozen=$ro
chattr +i "$ro" "$ro-wal"
for i in 1 2 3; do
  [[ $(post_org "read-only $i") == 503 && $(problem_type) == /problems/storage-unavailable && $(retry_after) == 30 ]] ||
    fail "a write to the immutable file: $(cat "$tmp/post.body")"
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/api/v1/organisations" -H "Authorization: Bearer $token") == 200 ]] ||
  fail "reads stopped on the read-only file"
chattr -i "$ro" "$ro-wal"
frozen=""
[[ $(post_org "after read-only") == 201 ]] || fail "a write after the file was writable again: $(cat "$tmp/post.body")"
stop_server
[[ $server_rc == 0 ]] || fail "the read-only server exited $server_rc on SIGTERM"
read -r integrity stored < <(integrity "$ro" "before " "read-only " "after ")
[[ $integrity == ok ]] || fail "PRAGMA integrity_check after the read-only file: $integrity"
[[ $stored == 2 ]] || fail "2 writes acknowledged around the read-only file, $stored stored"
echo "    read-only (chattr +i): 3 writes 503 storage-unavailable, reads 200; writes 201 once cleared;"
echo "    integrity_check ok; 2 writes acknowledged = 2 stored, none of the refused"
echo "==> faults: all recovered"
