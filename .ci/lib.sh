# Shared by the CI scripts (sourced, not run): the checkout's root as the working folder (repo),
# missing tools installed, Python tools in a venv, the release build (bin), a temporary folder
# (tmp), a server on a free port started and waited for, and the clean-up on exit (the server
# stopped, the script's own on_exit steps, tmp removed).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck shell=bash

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit

# apt_install <package>…: installs these Debian packages (none: nothing to do).
apt_install() {
  (($#)) || return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# need <command>…: installs the ones not found, each from the Debian package of its name.
need() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  apt_install "${missing[@]}"
}

# make_venv <folder> <command> <pip install arguments>…: a Python venv at <folder> (under the
# checkout, e.g. target/ci-venv), made and filled unless it already has bin/<command>.
make_venv() {
  local dir=$1 tool=$2
  shift 2
  if [[ ! -x $dir/bin/$tool ]]; then
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
}

# build_release: `cargo build --release` of the service; bin is the binary (absolute).
build_release() {
  cargo build --release --quiet --bin connect
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/connect
  [[ $bin = /* ]] || bin=$repo/$bin
}

# clear_connect_env: unsets the caller's CONNECT_* settings (the service refuses unknown ones, and
# these scripts configure it alone).
clear_connect_env() {
  local v
  while read -r v; do unset "$v"; done < <(compgen -e | grep '^CONNECT_' || true)
}

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pick_port: port (free) and base (http://127.0.0.1:port) for the next server.
pick_port() {
  port=$(free_port)
  base="http://127.0.0.1:$port"
}

# make_tmp <name>: tmp, a new folder removed on exit.
make_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/connect-$1.XXXXXX")
}

server=""
server_rc=0
# serve <log> [VAR=value…]: `$bin serve` in the background with PATH and these variables only
# (env -i; CONNECT_BIND among them, on $port), its output appended to <log>; server is its pid.
# Waits up to 15 s for $base/readyz to answer 200; if it does not, or the process ends, prints
# the end of <log> to stderr and returns 1.
serve() {
  local log=$1 i
  shift
  env -i PATH="$PATH" "$@" "$bin" serve >>"$log" 2>&1 &
  server=$!
  for ((i = 0; i < 150; i++)); do
    curl -sf "$base/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  curl -sf "$base/readyz" >/dev/null 2>&1 && return 0
  echo "the server did not become ready at $base; the end of $log:" >&2
  tail -n 50 "$log" >&2
  return 1
}

# stop_server: SIGTERM to the server, waited for; its exit status in server_rc.
# shellcheck disable=SC2034 # server_rc is for the scripts
stop_server() {
  server_rc=0
  if [[ -n $server ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || server_rc=$?
  fi
  server=""
}

# on_exit <function>: run on exit, after the server is stopped and before tmp is removed, in the
# order given.
CI_ON_EXIT=()
on_exit() { CI_ON_EXIT+=("$1"); }

ci_cleanup() {
  local status=$? step
  trap - EXIT INT TERM
  stop_server
  for step in "${CI_ON_EXIT[@]}"; do "$step" || true; done
  if [[ -n ${tmp:-} ]]; then rm -rf "$tmp"; fi
  exit "$status"
}
trap ci_cleanup EXIT
trap 'exit 130' INT TERM
