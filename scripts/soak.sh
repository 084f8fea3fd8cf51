#!/usr/bin/env bash
# Soak benchmark (not a test): a release `wagate local` on the simulated network, fed
# SOAK_RATE sends/s (default 200) over SOAK_SESSIONS sessions (20) to 100 chats plus
# SOAK_INCOMING incoming messages/s (20) for SOAK_SECS seconds (1800), with a webhook receiver
# that checks every signature. Prints a row a minute (RSS, accept p50/p99/max, queue depths,
# database and WAL size) and a summary; fails if any accepted send or incoming message never
# reached the receiver. Retention runs every SOAK_RETENTION_SECS (300) with JOB_TTL_DAYS=0, so
# the database must level off after the first sweep. Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PORT="$(free_port)"
DATA=$(mktemp -d)
remove_on_exit "$DATA"
KEY=soak-admin-key-0123456789

cargo build --release -p wagate --bin wagate --example soak
T="${CARGO_TARGET_DIR:-target}/release"

env DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
    QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS="${SOAK_GAP_MS:-20}" SEND_JITTER_MS=0 \
    JOB_TTL_DAYS=0 RETENTION_INTERVAL_SECS="${SOAK_RETENTION_SECS:-300}" AUTOREPLY_PING_PONG=false \
    RUST_LOG=warn WA_CONNECTOR=simulated "$T/wagate" local &
PID=$!
track_pid "$PID"
wait_http "localhost:$PORT/health/live"

"$T/examples/soak" "http://127.0.0.1:$PORT" "$KEY" "$PID" "$DATA" \
  "${SOAK_RATE:-200}" "${SOAK_INCOMING:-20}" "${SOAK_SECS:-1800}" "${SOAK_SESSIONS:-20}"
