#!/usr/bin/env bash
# Runs the README's walk-through as a new user would paste it: every ```sh block preceded by
# `<!-- walkthrough -->` (and, in some passes, `<!-- walkthrough: optional -->`), in order, with
# `set -euo pipefail`, against a freshly started release binary on an empty data folder (SQLite).
# Any failing command, or any HTTP answer of 400 or more, fails the run.
#
# Two passes: without the optional blocks (`seed demo`), then running them after the rest; and
# with them in their place, then once more (a second `seed demo` must add nothing and succeed).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
  apt-get update -qq && apt-get install -y -qq curl jq >/dev/null
fi
cargo build --release --quiet

# The blocks marked for the walk-through; $1 = "required" or "all".
extract() {
  awk -v which="$1" '
    /^<!-- walkthrough -->$/ { pending = "take"; next }
    /^<!-- walkthrough: optional -->$/ { pending = (which == "all" ? "take" : "skip"); next }
    pending != "" && !inblock {
      if ($0 != "```sh") { print "README.md:" NR ": a walkthrough marker must be followed by a ```sh block" > "/dev/stderr"; exit 1 }
      inblock = 1; n++; if (pending == "take") printf "\n# --- README.md:%d (block %d)\n", NR, n; next
    }
    inblock && $0 == "```" { inblock = 0; pending = ""; next }
    inblock && pending == "take" { print }
  ' README.md
}

# The optional blocks only.
optional() {
  awk '
    /^<!-- walkthrough: optional -->$/ { take = 1; next }
    take && $0 == "```sh" { inblock = 1; next }
    inblock && $0 == "```" { inblock = 0; take = 0; next }
    inblock { print }
  ' README.md
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

server=""
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap stop_server EXIT

# run <name> <script text>
run() {
  local name=$1 script=$2
  local dir port
  dir=$(mktemp -d)
  port=$(free_port)
  printf '\n==> walk-through: %s (in %s, port %s)\n' "$name" "$dir" "$port"
  # A clean environment for the service: nothing of CI's own CONNECT_* settings.
  local vars
  vars=$(compgen -e | grep '^CONNECT_' || true)
  {
    echo 'set -euo pipefail'
    # As pasted, but an HTTP error answer fails the command (the README reads the body anyway).
    echo 'curl() { command curl --fail-with-body "$@"; }'
    printf '%s\n' "$script" | sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g"
  } > "$dir/walkthrough.sh"
  # The blocks run from a checkout's root (e.g. `python3 clients/webhooks/receiver.py`).
  ln -s "$repo/clients" "$dir/clients"
  (
    cd "$dir"
    for v in $vars; do unset "$v"; done
    export PATH="$repo/target/release:$PATH" CONNECT_BIND="127.0.0.1:$port"
    connect serve > serve.log 2>&1 &
    echo $! > serve.pid
  )
  server=$(cat "$dir/serve.pid")
  for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.2
  done
  if ! (
    cd "$dir"
    for v in $vars; do unset "$v"; done
    export PATH="$repo/target/release:$PATH" CONNECT_BIND="127.0.0.1:$port"
    bash -x walkthrough.sh
  ); then
    echo "walk-through '$name' failed; the server said:" >&2
    tail -n 30 "$dir/serve.log" >&2
    exit 1
  fi
  stop_server
  rm -rf "$dir"
}

run "without seed demo, then seed demo after it" "$(extract required)
$(optional)"
run "with seed demo in its place, then once more" "$(extract all)
$(optional)"
printf '\n==> the README walk-through works\n'
