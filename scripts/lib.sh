# shellcheck shell=bash
# Helpers shared by the scripts in scripts/, sourced after `cd` to the repository root:
#
#   cd "$(dirname "$0")/.."
#   . scripts/lib.sh
#
# Several scripts need the same pieces: a free loopback port, a Python venv with pinned tools
# (moto, cargo-lambda, cfn-lint), moto server started the one right way (scripts/moto_server.py,
# which takes DynamoDB requests one at a time: plain `moto_server` lets two racing conditional
# writes both pass, which DynamoDB never does), and background processes stopped on exit. They
# live here once, so every script starts moto and cleans up the same way.
#
# Sourcing this file installs an EXIT trap: register what it must undo with `track_pid` and
# `remove_on_exit` instead of setting a trap of your own.

WAGATE_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WAGATE_PIDS=()
WAGATE_REMOVE=()

# free_port: prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# track_pid PID...: kill these processes when the script exits.
track_pid() {
  WAGATE_PIDS+=("$@")
}

# stop_pid PID: kill it now, wait for it, and forget it.
stop_pid() {
  local p rest=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${WAGATE_PIDS[@]}"; do [ "$p" = "$1" ] || rest+=("$p"); done
  WAGATE_PIDS=("${rest[@]}")
}

# remove_on_exit PATH...: delete these files or directories when the script exits.
remove_on_exit() {
  WAGATE_REMOVE+=("$@")
}

# The EXIT trap: kills the registered processes (by PID, nothing else), waits for them, then
# removes the registered paths. The script's exit status is kept.
wagate_cleanup() {
  local p
  for p in "${WAGATE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${WAGATE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  WAGATE_PIDS=()
  if [ "${#WAGATE_REMOVE[@]}" -gt 0 ]; then rm -rf "${WAGATE_REMOVE[@]}"; fi
}
trap wagate_cleanup EXIT

# wait_http URL [SECONDS]: waits until URL answers 2xx (default 30 s); fails otherwise.
wait_http() {
  local deadline=$((SECONDS + ${2:-30}))
  until curl -sf -m 5 -o /dev/null "$1"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$1 did not answer within ${2:-30} s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# cpu_ticks PID: user + system CPU time of the process (all threads), in clock ticks.
cpu_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }          # the fields after the command name, from field 3 (state) on
  # shellcheck disable=SC2086
  set -- $rest
  echo $(( ${12} + ${13} ))  # fields 14 (utime) and 15 (stime)
}

# wait_idle PID [TIMEOUT]: waits until the process uses under 5 % of a core over a second
# (its background work done: a benchmark's sends dispatched as webhook events); the idle
# second is part of the wait. Fails after TIMEOUT seconds (1800).
wait_idle() {
  local before after tck deadline=$((SECONDS + ${2:-1800}))
  tck=$(getconf CLK_TCK)
  while [ "$SECONDS" -lt "$deadline" ]; do
    before=$(cpu_ticks "$1")
    sleep 1
    after=$(cpu_ticks "$1")
    [ $((after - before)) -le $((tck / 20)) ] && return 0
  done
  echo "process $1 was still busy after ${2:-1800} s" >&2
  return 1
}

# ensure_venv VENV PKG...: the venv at VENV (created when missing) with each PKG installed.
# PKG is a pip requirement ('moto[server]', 'cargo-lambda==1.9.2'); the ones installed are
# listed in VENV/.wagate-packages, so pip runs only when a requirement is not there yet (a
# changed pin is a new requirement).
ensure_venv() {
  local venv=$1 marker=$1/.wagate-packages pkg missing=()
  shift
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  for pkg in "$@"; do
    grep -qxF -- "$pkg" "$marker" 2>/dev/null || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "installing ${missing[*]} into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${missing[@]}"
  printf '%s\n' "${missing[@]}" >>"$marker"
}

# start_moto VENV [LOG]: moto server (VENV must hold 'moto[server]') through
# scripts/moto_server.py on a free loopback port, logging to LOG (default
# ${TMPDIR:-/tmp}/wagate-moto.log). Waits until it answers, stops it on exit, and exports
# MOTO_ENDPOINT (http://127.0.0.1:PORT). Call it directly, not in $(...): the PID is
# registered in this shell.
start_moto() {
  local venv=$1 log=${2:-${TMPDIR:-/tmp}/wagate-moto.log} port pid deadline
  port=$(free_port)
  "$venv/bin/python" "$WAGATE_SCRIPTS/moto_server.py" 127.0.0.1 "$port" >"$log" 2>&1 &
  pid=$!
  track_pid "$pid"
  deadline=$((SECONDS + 30))
  until curl -sf -m 5 -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "moto server did not start on 127.0.0.1:$port; the end of $log:" >&2
      tail -20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  export MOTO_ENDPOINT="http://127.0.0.1:$port"
  echo "moto server at $MOTO_ENDPOINT (PID $pid, log $log)" >&2
}
