#!/usr/bin/env bash
# Upload throughput and the server's peak RSS growth for 1, 10 and 100 MiB multipart uploads:
# `wagate local` (files on disk) and the `api` bootstrap (the same upload route as the `upload`
# function, and the session routes the run needs) outside Lambda on S3 in moto (multipart upload in 8 MiB parts). Peak RSS is the kernel's
# high-water mark (VmHWM), reset through /proc/PID/clear_refs before each upload.
# Usage: bash scripts/bench-upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

VENV="${WAGATE_VENV:-.venv}"
ensure_venv "$VENV" 'moto[server]'
WORK=$(mktemp -d)
remove_on_exit "$WORK"

cargo build --release --locked -p wagate --features aws --bin wagate --bin api
T="${CARGO_TARGET_DIR:-target}/release"
KEY=bench-admin-key-0123456789

for mib in 1 10 100; do
  { printf '%%PDF-1.7\n'; head -c $((mib * 1048576 - 9)) /dev/urandom; } > "$WORK/$mib.pdf"
done

kib() { awk -v f="$2" '$1 == f {print $2}' "/proc/$1/status"; }

# bench NAME PORT PID
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
LOCAL_PID=$!
track_pid "$LOCAL_PID"
wait_http "localhost:$PORT/health/live"
bench "local/disk" "$PORT" "$LOCAL_PID"

start_moto "$VENV"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test WAGATE_TABLE=bench WAGATE_BUCKET=bench \
  ADMIN_API_KEY=$KEY RATE_LIMIT_MAX=100000 RUST_LOG=warn MAX_UPLOAD_BYTES=$((110 * 1048576))
"$T/wagate" provision >/dev/null
PORT=$(free_port)
PORT="$PORT" "$T/api" &
API_PID=$!
track_pid "$API_PID"
wait_http "localhost:$PORT/health/live"
bench "s3 (moto)" "$PORT" "$API_PID"
