#!/usr/bin/env bash
# Load benchmark of the enqueue path (auth + limits + validation + job + queue) of
# `wagate local`, with wrk, at 64 and 256 connections; then request → `sent` latency on the
# simulated network. Needs `wrk` (Debian package). Figures go to the README.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }

DURATION="${DURATION:-20s}"
PORT="${PORT:-4099}"
DATA=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

cargo build --release -p wagate-host --bin wagate
KEY=bench-admin-key-0123456789
# Limits high so they are counted but never refuse; pacing off so the worker keeps up.
env DATA_DIR="$DATA" PORT="$PORT" ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
    QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS=0 SEND_JITTER_MS=0 \
    RUST_LOG=warn WA_CONNECTOR=simulated ./target/release/wagate local &
PID=$!
for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health/live" >/dev/null && break; sleep 0.1; done

curl -sf "localhost:$PORT/api/sessions" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d '{"sessionId":"bench"}' >/dev/null
for _ in $(seq 1 50); do
  curl -sf "localhost:$PORT/api/sessions/bench" -H "X-API-Key: $KEY" | grep -q '"qr":"' && break; sleep 0.1
done
curl -sf -X POST "localhost:$PORT/api/dev/sessions/bench/scan" -H "X-API-Key: $KEY" >/dev/null

cat > "$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$KEY"
wrk.body = '{"sessionId":"bench","to":"628123456789","text":"load test"}'
LUA

for c in 64 256; do
  echo "== POST /api/messages/text, $c connections, $DURATION"
  wrk -t2 -c"$c" -d"$DURATION" --latency -s "$DATA/post.lua" "http://127.0.0.1:$PORT/api/messages/text"
done

echo "== request → sent latency (simulated network)"
cargo run --release -q -p wagate-host --example sent_latency -- "http://127.0.0.1:$PORT" "$KEY"
