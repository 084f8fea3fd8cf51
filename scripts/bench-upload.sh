#!/usr/bin/env bash
# Upload throughput and the server's peak RSS growth for 1, 10 and 100 MiB multipart uploads:
# `wagate local` (files on disk) and the `upload` function's binary outside Lambda on S3 in
# moto (multipart upload in 8 MiB parts). Peak RSS is the kernel's high-water mark (VmHWM),
# reset through /proc/PID/clear_refs before each upload. Usage: bash scripts/bench-upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${WAGATE_VENV:-.venv}"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'moto[server]'
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
WORK=$(mktemp -d)
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

cargo build --release --locked -p wagate-host --bin wagate
cargo build --release --locked -p wagate-functions --bin upload
T="${CARGO_TARGET_DIR:-target}/release"
KEY=bench-admin-key-0123456789

for mib in 1 10 100; do
  { printf '%%PDF-1.7\n'; head -c $((mib * 1048576 - 9)) /dev/urandom; } > "$WORK/$mib.pdf"
done

kib() { awk -v f="$2" '$1 == f {print $2}' "/proc/$1/status"; }

# bench NAME PORT PID SESSION
bench() {
  local name=$1 port=$2 pid=$3
  curl -sf "localhost:$port/api/sessions" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    -d '{"sessionId":"up"}' >/dev/null || true
  for mib in 1 10 100; do
    echo 5 > "/proc/$pid/clear_refs"
    local before; before=$(kib "$pid" VmRSS:)
    local secs
    secs=$(curl -s -o "$WORK/out.json" -w '%{time_total}' "localhost:$port/api/messages/media/file" \
      -H "X-API-Key: $KEY" -F sessionId=up -F to=628123456789 -F "file=@$WORK/$mib.pdf")
    grep -q '"queued":1' "$WORK/out.json" || { echo "upload failed: $(cat "$WORK/out.json")" >&2; exit 1; }
    local peak; peak=$(kib "$pid" VmHWM:)
    python3 -c 'import sys; mib, secs, grow = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]); print(f"{sys.argv[1]:<12} {mib:>4} MiB  {mib / secs:7.1f} MiB/s  ({secs * 1000:7.1f} ms)  peak RSS growth {grow / 1024:5.1f} MiB")' \
      "$name" "$mib" "$secs" "$((peak - before))"
  done
}

PORT=$(free_port)
DATA_DIR="$WORK/data" PORT=$PORT HOST=127.0.0.1 ADMIN_API_KEY=$KEY WA_CONNECTOR=simulated \
  MAX_UPLOAD_BYTES=$((110 * 1048576)) RATE_LIMIT_MAX=100000 RUST_LOG=warn "$T/wagate" local &
PIDS+=($!)
LOCAL_PID=$!
for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health/live" >/dev/null && break; sleep 0.1; done
bench "local/disk" "$PORT" "$LOCAL_PID"

MOTO_PORT=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/" >/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test WAGATE_TABLE=bench WAGATE_BUCKET=bench \
  ADMIN_API_KEY=$KEY RATE_LIMIT_MAX=100000 RUST_LOG=warn MAX_UPLOAD_BYTES=$((110 * 1048576))
"$T/wagate" provision >/dev/null
PORT=$(free_port)
PORT="$PORT" "$T/upload" &
PIDS+=($!)
UP_PID=$!
for _ in $(seq 1 100); do curl -sf "localhost:$PORT/health/live" >/dev/null && break; sleep 0.1; done
bench "s3 (moto)" "$PORT" "$UP_PID"
