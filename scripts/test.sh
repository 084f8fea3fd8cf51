#!/usr/bin/env bash
# The test command of the README: every test of the workspace. The AWS adapters' contract
# suites need a local AWS emulator: this installs moto server in .venv (once), starts it on a
# free loopback port, points the tests at it, and stops it by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${WAGATE_VENV:-.venv}"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'moto[server]'
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Through scripts/moto_server.py: moto with DynamoDB requests taken one at a time, as
# DynamoDB applies conditional writes (moto alone can let two racing ones both pass).
"$VENV/bin/python" scripts/moto_server.py 127.0.0.1 "$PORT" >"${TMPDIR:-/tmp}/wagate-moto.log" 2>&1 &
MOTO=$!
trap 'kill "$MOTO" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/moto-api/" >/dev/null || { echo "moto server did not start" >&2; exit 1; }

export WAGATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$PORT"
cargo test --workspace --locked "$@"
