#!/usr/bin/env bash
# The browser test of /ui: builds `wagate`, starts it on the simulated network in a temp data
# dir, runs ui/tests with headless Chromium (Debian's package), stops it. Screenshots land in
# artifacts/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
(cd ui && npm ci --no-audit --no-fund --silent)
cargo build -q -p wagate --bin wagate
BIN="${CARGO_TARGET_DIR:-target}/debug/wagate"
DATA=$(mktemp -d)
remove_on_exit "$DATA"
PORT=$(free_port)
KEY=ui-test-admin-key-0123456789
env DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" SEND_MIN_GAP_MS=0 SEND_JITTER_MS=0 \
    SESSION_START_SPACING_MS=0 RUST_LOG=warn WA_CONNECTOR=simulated "$BIN" local &
track_pid $!
wait_http "http://127.0.0.1:$PORT/health/live"
(cd ui && WAGATE_URL="http://127.0.0.1:$PORT" WAGATE_KEY="$KEY" node --test tests/)
