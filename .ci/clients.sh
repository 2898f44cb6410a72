#!/usr/bin/env bash
# Generated clients run the main journey against a fresh release binary (SQLite): Python with
# openapi-python-client (clients/python/journey.py), TypeScript types with openapi-typescript
# checked by tsc against clients/typescript/journey.ts, which then runs too. A spec change that
# breaks generated clients fails here. Installs python3-venv, nodejs and npm if missing.
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
apt_install "${missing[@]}"

build_release
make_tmp clients
pick_port
email=journey-admin@example.org
password="journey-$(rand_hex 12)"
serve "$tmp/server.log" CONNECT_DATABASE_URL="sqlite://$tmp/connect.db" CONNECT_DATA_DIR="$tmp" CONNECT_BIND="127.0.0.1:$port" \
  CONNECT_PUBLIC_URL="$base" CONNECT_ADMIN_EMAIL="$email" CONNECT_ADMIN_PASSWORD="$password" RUST_LOG=warn

echo "--- Python: openapi-python-client"
venv=target/ci-clients-venv
make_venv "$venv" openapi-python-client -r clients/python/requirements.txt
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
