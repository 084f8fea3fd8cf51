#!/usr/bin/env bash
# Benchmarks of the AWS path, against moto on loopback (figures compare our own changes; moto
# is not AWS): the release size of each Lambda bootstrap, the api function's cold start through
# a minimal runtime API (scripts/coldstart.py), and the enqueue path (the `api` bootstrap run
# outside Lambda, which serves the same router over plain HTTP, on DynamoDB + SQS) at fixed
# rates. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
VENV="${WAGATE_VENV:-.venv}"
ensure_venv "$VENV" 'moto[server]'
cargo build --release --locked -p wagate --features aws --bin api --bin webhooks
cargo build --locked -p wagate --features aws --bin wagate   # provisioning only; a debug build will do
T="${CARGO_TARGET_DIR:-target}/release"

echo "== release bootstrap sizes (x86_64, stripped)"
for f in api webhooks; do
  python3 -c 'import os, sys; print(f"{sys.argv[1]:<9} {os.path.getsize(sys.argv[2]) / 1048576:5.1f} MB")' "$f" "$T/$f"
done

start_moto "$VENV"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test WAGATE_TABLE=bench WAGATE_BUCKET=bench \
  ADMIN_API_KEY=bench-admin-key-0123456789 RATE_LIMIT_MAX=100000000 RUST_LOG=warn
"${CARGO_TARGET_DIR:-target}/debug/wagate" provision

echo "== api cold start (runtime API harness, moto)"
python3 scripts/coldstart.py "$T/api" 20

# The api function's release binary outside Lambda serves plain HTTP on PORT: the enqueue
# path on DynamoDB + SQS, without the runtime in between.
PORT=$(free_port)
PORT="$PORT" "$T/api" &
track_pid $!
wait_http "localhost:$PORT/health/live"
curl -sf "localhost:$PORT/api/sessions" -H "X-API-Key: $ADMIN_API_KEY" \
  -H 'Content-Type: application/json' -d '{"sessionId":"bench"}' >/dev/null
LUA=$(mktemp)
remove_on_exit "$LUA"
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
