#!/usr/bin/env bash
# Benchmarks of the AWS path, against moto on loopback (figures compare our own changes; moto
# is not AWS): the size of each Lambda bootstrap as `sam build` makes it (infra/Makefile: the
# `lambda` profile, each function's features; for this machine's architecture, where the
# deployment's is arm64), the api function's cold start through a minimal runtime API
# (scripts/coldstart.py), and the enqueue path (the `api` bootstrap run outside Lambda, which
# serves the same router over plain HTTP, on DynamoDB + SQS) at fixed rates. Figures go to
# docs/benchmarks.md. The fat-LTO builds take about 20 minutes on 2 cores from cold.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }
VENV="${WAGATE_VENV:-.venv}"
ensure_venv "$VENV" 'moto[server]' 'cargo-lambda==1.9.2'
case "$VENV" in /*) export PATH="$VENV/bin:$PATH" ;; *) export PATH="$PWD/$VENV/bin:$PATH" ;; esac
T=$(mktemp -d)
remove_on_exit "$T"
for f in Api Upload Webhooks; do
  mkdir -p "$T/$f"
  make -s -f infra/Makefile "build-${f}Function" ARTIFACTS_DIR="$T/$f" ARCH=
done
cargo build --locked -p wagate --features aws --bin wagate   # provisioning only; a debug build will do

echo "== bootstrap sizes ($(uname -m), stripped, as sam build makes them)"
for f in Api Upload Webhooks; do
  python3 -c 'import os, sys; print(f"{sys.argv[1]:<9} {os.path.getsize(sys.argv[2]) / 1e6:5.2f} MB")' "$f" "$T/$f/bootstrap"
done

start_moto "$VENV"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test WAGATE_TABLE=bench WAGATE_BUCKET=bench \
  ADMIN_API_KEY=bench-admin-key-0123456789 RATE_LIMIT_MAX=100000000 RUST_LOG=warn
"${CARGO_TARGET_DIR:-target}/debug/wagate" provision

echo "== api cold start (runtime API harness, moto)"
python3 scripts/coldstart.py "$T/Api/bootstrap" 20

# The api function's release binary outside Lambda serves plain HTTP on PORT: the enqueue
# path on DynamoDB + SQS, without the runtime in between.
PORT=$(free_port)
PORT="$PORT" "$T/Api/bootstrap" &
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
