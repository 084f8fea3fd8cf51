#!/usr/bin/env bash
# Load benchmark of the enqueue path (auth + limits + validation + job + queue) of
# `wagate local`: open-loop at fixed rates (latency at a given load), then wrk at 64 and 256
# connections (throughput at saturation); then request → `sent` latency on the
# simulated network. Needs `wrk` (Debian package). Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
command -v wrk >/dev/null || { echo "install wrk: apt-get install -y wrk" >&2; exit 1; }

DURATION="${DURATION:-20s}"
PORT="${PORT:-4099}"
DATA=$(mktemp -d)
remove_on_exit "$DATA"

cargo build --release -p wagate --bin wagate --example sent_latency --example enqueue_load
T="${CARGO_TARGET_DIR:-target}/release"
KEY=bench-admin-key-0123456789

# start_wagate GAP_MS: a fresh `wagate local` with limits high (counted, never refusing).
start_wagate() {
  rm -rf "$DATA/db" && mkdir -p "$DATA/db"
  env DATA_DIR="$DATA/db" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
      QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS="$1" SEND_JITTER_MS=0 \
      RUST_LOG=warn WA_CONNECTOR=simulated "$T/wagate" local &
  PID=$!
  track_pid "$PID"
  wait_http "localhost:$PORT/health/live"
}

# 1. Request → sent, pacing off: what the pipeline itself adds.
start_wagate 0
echo "== request → sent latency (simulated network, pacing off)"
"$T"/examples/sent_latency "http://127.0.0.1:$PORT" "$KEY" 1000 100
stop_pid "$PID"

# 2. The enqueue path under load, with the default pacing (1 send/s per session), so the
#    figures are those of auth + limits + validation + job + queue.
start_wagate 1000
curl -sf "localhost:$PORT/api/sessions" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' -d '{"sessionId":"bench"}' >/dev/null
cat > "$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$KEY"
wrk.body = '{"sessionId":"bench","to":"628123456789","text":"load test"}'
LUA
for r in 500 1000 2000; do
  echo "== POST /api/messages/text, open loop at $r/s"
  "$T"/examples/enqueue_load "http://127.0.0.1:$PORT" "$KEY" bench "$r" 10
done
for c in 64 256; do
  echo "== POST /api/messages/text, $c connections, $DURATION"
  wrk -t2 -c"$c" -d"$DURATION" --latency -s "$DATA/post.lua" "http://127.0.0.1:$PORT/api/messages/text"
done
