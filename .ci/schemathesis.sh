#!/usr/bin/env bash
# Schemathesis against the running release binary with the demo data loaded, on SQLite and on
# PostgreSQL (`.ci/schemathesis.sh [sqlite|postgres|all]`, default all): every operation, the
# spec's own examples and then generated requests (a bounded number, a fixed seed), checked for
# no 5xx and answers (status, content type, body) matching the spec, and the examples accepted
# (positive_data_acceptance); the demo data's ids bound to path parameters and to fields naming
# records (.ci/schemathesis-ids.py), so requests reach records. Authenticated by an admin's
# API token with every scope, so no session can be ended or locked by the generated requests;
# logging in and out, refreshing and changing passwords or standing are left out for the same
# reason.
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
which=${1:-all}
case $which in
sqlite) backends=(sqlite) ;;
postgres) backends=(postgres) ;;
all) backends=(sqlite postgres) ;;
*) echo "usage: .ci/schemathesis.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac
need curl jq
examples=${SCHEMATHESIS_EXAMPLES:-15}
seed=${SCHEMATHESIS_SEED:-20261206}
pg_url=${CONNECT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}

venv=target/ci-st-venv
make_venv "$venv" st 'schemathesis==4.32.5'
# SCHEMATHESIS_BIN runs another build of the service (e.g. target/debug/connect) instead.
bin=${SCHEMATHESIS_BIN:-}
[[ -n $bin ]] || build_release
make_tmp st
pg_db=""
drop_pg_db() {
  if [[ -n $pg_db ]]; then psql "$pg_url/postgres" -qAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null; fi
  pg_db=""
}
on_exit drop_pg_db

all_scopes='["organisations:read","organisations:write","people:read","people:write","drugs:read","drugs:write","agreements:read","agreements:write","allocations:read","allocations:write","bodies:read","bodies:write","decisions:read","decisions:write","meetings:read","meetings:write","users:read","users:write","audit:read","webhooks:read","webhooks:write"]'

for backend in "${backends[@]}"; do
  echo "--- Schemathesis on $backend"
  dir="$tmp/$backend"
  mkdir -p "$dir"
  case $backend in
  sqlite) url="sqlite://$dir/connect.db" ;;
  postgres)
    pg_db="connect_st_$(rand_hex 6)"
    psql "$pg_url/postgres" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null
    url="$pg_url/$pg_db"
    ;;
  esac
  pick_port
  password="st-$(rand_hex 12)"
  env=(CONNECT_DATABASE_URL="$url" CONNECT_DATA_DIR="$dir" CONNECT_BIND="127.0.0.1:$port"
    CONNECT_PUBLIC_URL="$base" CONNECT_ADMIN_EMAIL=st-admin@example.org CONNECT_ADMIN_PASSWORD="$password"
    CONNECT_JWT_SECRET="$(rand_hex 32)" CONNECT_MAIL_WORKER=false CONNECT_WEBHOOK_WORKER=false RUST_LOG=warn)
  env -i PATH="$PATH" "${env[@]}" "$bin" seed demo >/dev/null
  serve "$dir/server.log" "${env[@]}"
  session=$(curl -sf "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"st-admin@example.org\",\"password\":\"$password\"}" | jq -r .access_token)
  token=$(curl -sf "$base/api/v1/api-tokens" -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
    -d "{\"name\":\"schemathesis\",\"scopes\":$all_scopes}" | jq -r .secret)
  [[ -n $token && $token != null ]] || { echo "no API token" >&2; exit 1; }
  # A webhook subscription (inactive: it sends nothing) with a test delivery, so the webhook
  # operations reach a record; the demo data has none.
  hook=$(curl -sf "$base/api/v1/webhooks" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"url":"http://127.0.0.1:9/schemathesis","events":["decision.closed"],"active":false}' | jq -r .subscription.id)
  curl -sf -X POST "$base/api/v1/webhooks/$hook/test" -H "Authorization: Bearer $token" >/dev/null
  # A second token, for the generated requests to revoke (never the one they run with).
  spare=$(curl -sf "$base/api/v1/api-tokens" -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
    -d '{"name":"schemathesis-spare","scopes":["people:read"]}' | jq -r .id)
  # The demo data's ids, bound to the path parameters and the fields naming records, so that
  # generated requests reach records instead of being answered 404.
  {
    cat <<'TOML'
# Every phase: no 5xx, and status, content type and body as the spec says.
[checks]
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
response_headers_conformance.enabled = false
positive_data_acceptance.enabled = false
# And the negative direction: a request the schemas refuse is refused (never a 2xx). 412 (the
# If-Match is checked before the body) and 413 (over 64 KiB) refuse it too.
negative_data_rejection = { enabled = true, expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "428", "429", "5xx"] }
missing_required_header.enabled = false
unsupported_method.enabled = false
use_after_free.enabled = false
ensure_resource_availability.enabled = false
ignored_auth.enabled = false
allow_header_conformance.enabled = false
object_level_authorization.enabled = false

# The positive direction: a request built from the spec's own examples and enum values is
# accepted. 404 (a made-up id), 409 (a state conflict, e.g. a name taken) and 412 (an `If-Match`
# that is not the record's current version) say nothing about the data's form; 400, 422 and 428 do.
[phases.examples.checks]
positive_data_acceptance = { enabled = true, expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429"] }

# Not yet for these: besides each schema's own example, the examples phase composes bodies from
# property examples and fills the rest with generated values, and these operations need relations
# between records or times no schema can state (left for the next round; no 5xx and a
# conforming answer are still checked).
[[operations]]
include-name = [
  "POST /api/v1/agreements",                      # a company's own record, made-up organisation_id
  "POST /api/v1/agreements/{id}/allocations",     # the drug covered by the agreement and the cohort
  "POST /api/v1/agreements/{id}/amendments",      # effective_to after effective_from; caps within the agreement's
  "POST /api/v1/cohorts",                         # an agreement still in force that covers the drug
  "POST /api/v1/meetings",                        # capacity only for open events
  "PATCH /api/v1/meetings/{id}",                  # capacity only for open events
  "PATCH /api/v1/meetings/{id}/occurrences/{start}", # capacity only for open events
  "POST /api/v1/meetings/{id}/action-items",      # the owner invited to the meeting or in its body
  "POST /api/v1/meetings/{id}/agenda-items",      # a decision of the meeting's body
  "POST /api/v1/organisations/{id}/membership-changes", # a step the current status allows
  "POST /api/v1/scheduling-polls",                # closes_at in the future
]
phases.examples.checks.positive_data_acceptance.enabled = false

TOML
    python3 .ci/schemathesis-ids.py openapi/openapi.json "$base" "$token" "$spare" "$dir/openapi.json"
  } >"$dir/schemathesis.toml"
  "$venv/bin/st" --config-file "$dir/schemathesis.toml" run "$dir/openapi.json" --url "$base" -H "Authorization: Bearer $token" \
    --max-examples "$examples" --seed "$seed" --workers 2 --phases examples,fuzzing \
    --exclude-path-regex '/auth/(login|logout|refresh)|/password|/deactivate|/reactivate|^/api/v1/users/\{id\}$' \
    --no-color
  stop_server
  drop_pg_db
done
echo "==> Schemathesis found nothing"
