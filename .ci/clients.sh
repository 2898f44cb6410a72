#!/usr/bin/env bash
# Generated clients run the main journey against a fresh release binary (SQLite): Python with
# openapi-python-client (clients/python/journey.py), TypeScript types with openapi-typescript
# checked by tsc against clients/typescript/journey.ts, which then runs too. A spec change that
# breaks generated clients fails here. Installs python3-venv, nodejs and npm if missing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --quiet --bin connect
bin=${CARGO_TARGET_DIR:-$repo/target}/release/connect
tmp=$(mktemp -d "${TMPDIR:-/tmp}/connect-clients.XXXXXX")
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
email=journey-admin@example.org
password="journey-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
env -i PATH="$PATH" CONNECT_DATABASE_URL="sqlite://$tmp/connect.db" CONNECT_DATA_DIR="$tmp" CONNECT_BIND="127.0.0.1:$port" CONNECT_PUBLIC_URL="$base" \
  CONNECT_ADMIN_EMAIL="$email" CONNECT_ADMIN_PASSWORD="$password" RUST_LOG=warn \
  "$bin" serve >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$base/readyz" >/dev/null || { cat "$tmp/server.log"; exit 1; }

echo "--- Python: openapi-python-client"
venv=target/ci-clients-venv
if [[ ! -x $venv/bin/openapi-python-client ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r clients/python/requirements.txt
fi
PATH="$repo/$venv/bin:$PATH" "$venv/bin/openapi-python-client" generate --path openapi/openapi.json \
  --output-path "$tmp/python/connect_consortium_api_client" --meta none
PYTHONPATH="$tmp/python" "$venv/bin/python" clients/python/journey.py "$base" "$email" "$password"

echo "--- TypeScript: openapi-typescript, tsc"
cp -r clients/typescript "$tmp/typescript"
rm -rf "$tmp/typescript/node_modules"
(
  cd "$tmp/typescript"
  npm ci --silent --no-audit --no-fund
  npx --no-install openapi-typescript "$repo/openapi/openapi.json" -o schema.d.ts
  npx --no-install tsc -p .
  node journey.js "$base" "$email" "$password"
)
echo "==> generated clients run the journey"
