#!/usr/bin/env bash
# The browser test of /ui: builds `wagate`, starts it on the simulated network in a temp data
# dir, runs ui/tests with headless Chromium (Debian's package), stops it. Screenshots land in
# artifacts/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
(cd ui && npm ci --no-audit --no-fund --silent)
cargo build -q -p wagate-host --bin wagate
BIN="${CARGO_TARGET_DIR:-target}/debug/wagate"
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=ui-test-admin-key-0123456789
env DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" SEND_MIN_GAP_MS=0 SEND_JITTER_MS=0 \
    SESSION_START_SPACING_MS=0 RUST_LOG=warn WA_CONNECTOR=simulated "$BIN" local &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
(cd ui && WAGATE_URL="http://127.0.0.1:$PORT" WAGATE_KEY="$KEY" node --test tests/)
