#!/usr/bin/env bash
# Benchmarks of the AWS path, against moto on loopback (figures compare our own changes; moto
# is not AWS): the release size of each Lambda bootstrap, the api function's cold start through
# a minimal runtime API (scripts/coldstart.py), and the enqueue path (`wagate api`, the same
# router on DynamoDB + SQS) at fixed rates. Figures go to the README.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${WAGATE_VENV:-.venv}"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'moto[server]'
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --locked -p wagate-functions --bins
cargo build --locked -p wagate-host --bin wagate   # provisioning only; a debug build will do
T="${CARGO_TARGET_DIR:-target}/release"

echo "== release bootstrap sizes (x86_64, stripped)"
for f in api upload webhooks; do
  python3 -c 'import os, sys; print(f"{sys.argv[1]:<9} {os.path.getsize(sys.argv[2]) / 1048576:5.1f} MB")' "$f" "$T/$f"
done

MOTO_PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test WAGATE_TABLE=bench WAGATE_BUCKET=bench \
  ADMIN_API_KEY=bench-admin-key-0123456789 RATE_LIMIT_MAX=100000000 RUST_LOG=warn
"${CARGO_TARGET_DIR:-target}/debug/wagate" provision

echo "== api cold start (runtime API harness, moto)"
python3 scripts/coldstart.py "$T/api" 20

# The api function's release binary outside Lambda serves plain HTTP: the enqueue path on
# DynamoDB + SQS, without the runtime in between.
PORT=$(free_port)
PORT="$PORT" "$T/api" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health/live" >/dev/null && break; sleep 0.1; done
curl -sf "localhost:$PORT/api/sessions" -H "X-API-Key: $ADMIN_API_KEY" \
  -H 'Content-Type: application/json' -d '{"sessionId":"bench"}' >/dev/null
LUA=$(mktemp)
cat > "$LUA" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$ADMIN_API_KEY"
wrk.body = '{"sessionId":"bench","to":"628123456789","text":"load test"}'
EOF
for c in 4 16; do
  echo "== POST /api/messages/text on DynamoDB + SQS (moto), $c connections, 15 s"
  wrk -t2 -c"$c" -d15s --latency -s "$LUA" "http://127.0.0.1:$PORT/api/messages/text" | grep -E "Requests/sec|50%|99%|Non-2xx"
done
