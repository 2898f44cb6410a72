#!/usr/bin/env bash
# Schemathesis against the running release binary with the demo data loaded, on SQLite and on
# PostgreSQL (`.ci/schemathesis.sh [sqlite|postgres|all]`, default all): every operation, the
# spec's own examples and then generated requests (a bounded number, a fixed seed), checked for
# no 5xx and answers (status, content type, body) matching the spec. Authenticated by an admin's
# API token with every scope, so no session can be ended or locked by the generated requests;
# logging in and out, refreshing and changing passwords or standing are left out for the same
# reason.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
which=${1:-all}
case $which in
sqlite) backends=(sqlite) ;;
postgres) backends=(postgres) ;;
all) backends=(sqlite postgres) ;;
*) echo "usage: .ci/schemathesis.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac
if ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq >/dev/null
fi
examples=${SCHEMATHESIS_EXAMPLES:-15}
seed=${SCHEMATHESIS_SEED:-20261206}
pg_url=${CONNECT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

venv=target/ci-st-venv
if [[ ! -x $venv/bin/st ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
cargo build --release --quiet --bin connect
bin=${CARGO_TARGET_DIR:-$repo/target}/release/connect
tmp=$(mktemp -d "${TMPDIR:-/tmp}/connect-st.XXXXXX")
server=""
pg_db=""
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [[ -n $pg_db ]]; then psql "$pg_url/postgres" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

all_scopes='["organisations:read","organisations:write","people:read","people:write","drugs:read","drugs:write","agreements:read","agreements:write","allocations:read","allocations:write","bodies:read","bodies:write","decisions:read","decisions:write","meetings:read","meetings:write","users:read","users:write","audit:read"]'

for backend in "${backends[@]}"; do
  echo "--- Schemathesis on $backend"
  dir="$tmp/$backend"
  mkdir -p "$dir"
  case $backend in
  sqlite) url="sqlite://$dir/connect.db" ;;
  postgres)
    pg_db="connect_st_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$pg_url/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null
    url="$pg_url/$pg_db"
    ;;
  esac
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  password="st-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  env=(PATH="$PATH" CONNECT_DATABASE_URL="$url" CONNECT_DATA_DIR="$dir" CONNECT_BIND="127.0.0.1:$port"
    CONNECT_PUBLIC_URL="$base" CONNECT_ADMIN_EMAIL=st-admin@example.org CONNECT_ADMIN_PASSWORD="$password"
    CONNECT_JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" CONNECT_MAIL_WORKER=false RUST_LOG=warn)
  env -i "${env[@]}" "$bin" seed demo >/dev/null
  env -i "${env[@]}" "$bin" serve >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  session=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"st-admin@example.org\",\"password\":\"$password\"}" | jq -r .access_token)
  token=$(curl -sf "$base/api/v1/api-tokens" -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
    -d "{\"name\":\"schemathesis\",\"scopes\":$all_scopes}" | jq -r .secret)
  [[ -n $token && $token != null ]] || { echo "no API token" >&2; exit 1; }
  "$venv/bin/st" run openapi/openapi.json --url "$base" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" --seed "$seed" --workers 2 --phases examples,fuzzing \
    --exclude-path-regex '/auth/(login|logout|refresh)|/password|/deactivate|/reactivate|^/api/v1/users/\{id\}$' \
    --no-color
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  if [[ -n $pg_db ]]; then psql "$pg_url/postgres" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null; pg_db=""; fi
done
echo "==> Schemathesis found nothing"
