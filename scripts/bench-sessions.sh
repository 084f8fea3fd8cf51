#!/usr/bin/env bash
# Many sessions on one host (not a test): a release `wagate local` on the simulated network
# with BENCH_SESSIONS sessions (1000) open, first idle for BENCH_IDLE_SECS (30: the process's
# CPU and RSS with nothing to do), then each sent one text a second for BENCH_SECS (60) with
# the default pacing of one send a second per session (no jitter). Prints accept → sent
# latency, the send queues' depth, RSS and CPU; fails if an accepted send never comes back as
# `message_sent`. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PORT="$(free_port)"
DATA=$(mktemp -d)
remove_on_exit "$DATA"
KEY=bench-admin-key-0123456789

cargo build --release --locked -p wagate --bin wagate --example sessions_load
T="${CARGO_TARGET_DIR:-target}/release"

env DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
    QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS=1000 SEND_JITTER_MS=0 \
    AUTOREPLY_PING_PONG=false RUST_LOG=warn WA_CONNECTOR=simulated "$T/wagate" local &
PID=$!
track_pid "$PID"
wait_http "localhost:$PORT/health/live"

"$T/examples/sessions_load" "http://127.0.0.1:$PORT" "$KEY" "$PID" "$DATA" \
  "${BENCH_SESSIONS:-1000}" "${BENCH_SECS:-60}" "${BENCH_IDLE_SECS:-30}"
