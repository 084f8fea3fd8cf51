#!/usr/bin/env bash
# The send worker's own cost, apart from the accept path: a release `wagate local` on the
# simulated network (pacing off, limits counted but never refusing) accepts sends for a session
# that is still waiting for its QR scan, so nothing is sent while wrk loads it; then the session
# is scanned and its worker drains the whole backlog alone (the drain ends when the process is
# idle again, its sends' webhooks dispatched too). Reports, from /proc/PID/stat and
# /proc/PID/io, the CPU time and bytes written per accepted request during the wrk run and per
# sent message during the drain, the drain's rate, and the WAL's size at the end.
#
#   bash scripts/bench-drain.sh                  # 64 connections for 15 s (~100,000 sends)
#   BENCH_CONNS=256 BENCH_SECS=10 bash scripts/bench-drain.sh
#
# Needs wrk (`apt-get install -y wrk`), curl and python3. TMPDIR must not be a tmpfs, or the
# bytes written read 0.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
CONNS="${BENCH_CONNS:-64}"
SECS="${BENCH_SECS:-15}"
LUA="${ANCHORS:-../shared/anchors}/post-text.lua"
[ -f "$LUA" ] || { echo "$LUA not found (set ANCHORS to the anchors directory)" >&2; exit 1; }
KEY=bench-admin-key-0123456789

cargo build --release --locked -p wagate --bin wagate
T="${CARGO_TARGET_DIR:-target}/release"
DATA=$(mktemp -d)
remove_on_exit "$DATA"
PORT=$(free_port)
env DATA_DIR="$DATA" PORT="$PORT" HOST=127.0.0.1 ADMIN_API_KEY="$KEY" RATE_LIMIT_MAX=100000000 \
    QUOTA_LIMIT=100000000 SPAM_COOLDOWN_MS=0 SEND_MIN_GAP_MS=0 SEND_JITTER_MS=0 \
    RUST_LOG=warn WA_CONNECTOR=simulated "$T/wagate" local >"$DATA/wagate.log" 2>&1 &
PID=$!
track_pid "$PID"
URL="http://127.0.0.1:$PORT"
wait_http "$URL/health/live"

api() {
  local body=()
  [ $# -lt 3 ] || body=(-H 'Content-Type: application/json' -d "$3")
  curl -sSf -m 10 -X "$1" "$URL$2" -H "X-API-Key: $KEY" "${body[@]}"
}
depth() { api GET /api/sessions/s1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["queueDepth"])'; }
written() { awk '/^write_bytes/ {print $2}' "/proc/$PID/io"; }

api POST /api/sessions '{"sessionId":"s1"}' >/dev/null
c0=$(cpu_ticks "$PID"); w0=$(written)
out=$(KEY=$KEY SESSION=s1 wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 30s -s "$LUA" "$URL/api/messages/text" | grep '^RESULT ')
echo "$out"
n=$(grep -o 'requests=[0-9]*' <<<"$out" | cut -d= -f2)
c1=$(cpu_ticks "$PID"); w1=$(written)
# wrk counts the answers it read: the requests in flight when it stopped were accepted too.
queued=$(depth)
[ "$queued" -ge "$n" ] || { echo "the queue holds $queued sends, fewer than the $n accepted" >&2; exit 1; }
n=$queued

start=$(date +%s.%N)
api POST /api/dev/sessions/s1/scan >/dev/null
while [ "$(depth)" -gt 0 ]; do sleep 0.2; done
# The sends' `message_sent` events are still being dispatched when the send queue is empty:
# the drain ends when the process goes idle (under 5 % of a core over a second), where that
# second began.
wait_idle "$PID"
end=$(python3 -c 'import time; print(time.time() - 1)')
c2=$(cpu_ticks "$PID"); w2=$(written)
wal=$(stat -c %s "$DATA/wagate.db-wal" 2>/dev/null || echo 0)
python3 - "$n" "$(getconf CLK_TCK)" "$c0" "$c1" "$c2" "$w0" "$w1" "$w2" "$start" "$end" "$wal" <<'EOF'
import sys
n, tck, c0, c1, c2, w0, w1, w2 = (int(a) for a in sys.argv[1:9])
start, end, wal = float(sys.argv[9]), float(sys.argv[10]), int(sys.argv[11])
print(f"accepted {n:,} sends")  # per request figures use the queued count
print(f"accept: {(c1 - c0) * 1000 / tck / n:.3f} ms CPU and {(w1 - w0) / 1024 / n:.1f} KiB written per request")
print(f"drain: {n / (end - start):,.0f} messages/s; {(c2 - c1) * 1000 / tck / n:.3f} ms CPU and "
      f"{(w2 - w1) / 1024 / n:.1f} KiB written per sent message")
print(f"WAL at the end: {wal / 1048576:.1f} MiB")
EOF
