#!/usr/bin/env bash
# Runs the README's walk-through as a new user would paste it: every ```sh block preceded by
# `<!-- walkthrough -->` (and, in some passes, `<!-- walkthrough: optional -->`), in order, with
# `set -euo pipefail`, against a freshly started release binary on an empty data folder (SQLite).
# Any failing command, or any HTTP answer of 400 or more, fails the run.
#
# Two passes: without the optional blocks (`seed demo`), then running them after the rest; and
# with them in their place, then once more (a second `seed demo` must add nothing and succeed).
set -euo pipefail
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need curl jq
build_release
make_tmp readme
# A clean environment for the service and the walk-through: nothing of CI's own CONNECT_* settings.
clear_connect_env

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

# run <name> <script text>
runs=0
run() {
  local name=$1 script=$2
  local dir
  runs=$((runs + 1))
  dir=$tmp/$runs
  mkdir "$dir"
  pick_port
  printf '\n==> walk-through: %s (in %s, port %s)\n' "$name" "$dir" "$port"
  {
    echo 'set -euo pipefail'
    # As pasted, but an HTTP error answer fails the command (the README reads the body anyway).
    echo 'curl() { command curl --fail-with-body "$@"; }'
    printf '%s\n' "$script" | sed "s/127\.0\.0\.1:8080/127.0.0.1:$port/g"
  } > "$dir/walkthrough.sh"
  # The blocks run from a checkout's root (e.g. `python3 clients/webhooks/receiver.py`); the
  # server from the same folder, with its default data folder there.
  ln -s "$repo/clients" "$dir/clients"
  cd "$dir"
  serve "$dir/serve.log" CONNECT_BIND="127.0.0.1:$port" || exit 1
  cd "$repo"
  if ! (
    cd "$dir"
    export PATH="${bin%/*}:$PATH" CONNECT_BIND="127.0.0.1:$port"
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
