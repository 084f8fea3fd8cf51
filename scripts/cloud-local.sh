#!/usr/bin/env bash
# The local cloud run: the AWS path of wagate on one machine, with no AWS account.
#   moto server (the AWS emulator) -> `wagate provision` -> the `api` Lambda under
#   `cargo lambda watch` -> `wagate host` (simulated WhatsApp, delivering webhooks itself)
# then scripts/cloud_e2e.py drives create session -> scan -> send -> sent -> signed webhook.
# With --keep it leaves everything running for you to call (Ctrl-C stops it all).
# Against LocalStack instead of moto: set AWS_ENDPOINT_URL and pass --no-emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

KEEP=false
EMULATOR=true
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=true ;;
    --no-emulator) EMULATOR=false ;;
    *) echo "usage: $0 [--keep] [--no-emulator]" >&2; exit 2 ;;
  esac
done

VENV="${WAGATE_VENV:-.venv}"
ensure_venv "$VENV" 'moto[server]' 'cargo-lambda==1.9.2'
case "$VENV" in /*) export PATH="$VENV/bin:$PATH" ;; *) export PATH="$PWD/$VENV/bin:$PATH" ;; esac

LOGS="${TMPDIR:-/tmp}/wagate-cloud-local"
mkdir -p "$LOGS"

if [ "$EMULATOR" = true ]; then
  start_moto "$VENV" "$LOGS/moto.log"
  export AWS_ENDPOINT_URL="$MOTO_ENDPOINT"
fi

ENV_FILE="$LOGS/env"
cat >"$ENV_FILE" <<EOF
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=${AWS_REGION:-us-east-1}
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
WAGATE_TABLE=${WAGATE_TABLE:-wagate}
WAGATE_BUCKET=${WAGATE_BUCKET:-wagate-local}
WAGATE_QUEUE_PREFIX=${WAGATE_QUEUE_PREFIX:-wagate-}
ADMIN_API_KEY=${ADMIN_API_KEY:-cloud-local-admin-key-0123456789}
DEV_ROUTES=true
SEND_MIN_GAP_MS=0
SEND_JITTER_MS=0
RUST_LOG=${RUST_LOG:-info}
EOF
set -a
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a

echo "== building wagate and the api function"
# Both are binaries of the `wagate` package, built together exactly as `cargo lambda watch`
# runs the function (`cargo run -p wagate --bin api`): the same features, so cargo lambda
# starts the function on the first request without rebuilding the dependencies.
cargo build --locked -p wagate --features aws --bin api --bin wagate
WAGATE="${CARGO_TARGET_DIR:-target}/debug/wagate"

echo "== wagate provision ($AWS_ENDPOINT_URL)"
"$WAGATE" provision

LAMBDA_PORT=$(free_port)
cargo lambda watch --package wagate --features aws --ignore-changes --env-file "$ENV_FILE" \
  -A 127.0.0.1 -P "$LAMBDA_PORT" >"$LOGS/lambda.log" 2>&1 &
track_pid $!
start_host() {
  HOST_HEALTH=$(free_port)
  DATA_DIR="$LOGS/host-data" WA_CONNECTOR=simulated HOST_DISPATCH_WEBHOOKS=true HOST_HEALTH_PORT=$HOST_HEALTH \
    "$WAGATE" host >>"$LOGS/host.log" 2>&1 &
  HOST_PID=$!
  track_pid "$HOST_PID"
}
start_host
export WAGATE_API="http://127.0.0.1:$LAMBDA_PORT/lambda-url/api"
# The first request waits for cargo lambda to start the function (a no-op build, then run).
for _ in $(seq 1 300); do curl -sf -m 60 "$WAGATE_API/health" >/dev/null && break; sleep 1; done
curl -sf "$WAGATE_API/health" >/dev/null || { echo "the api function did not answer; see $LOGS/lambda.log" >&2; tail -20 "$LOGS/lambda.log" >&2; exit 1; }

show_logs() {
  echo "--- host log" >&2; tail -30 "$LOGS/host.log" >&2
  echo "--- lambda log" >&2; tail -30 "$LOGS/lambda.log" >&2
}
echo "== full send through the api function and wagate host"
export E2E_SESSION_FILE="$LOGS/session"
python3 scripts/cloud_e2e.py || { show_logs; exit 1; }

echo "== the host's metrics on its health port"
METRICS=$(curl -sf "http://127.0.0.1:$HOST_HEALTH/metrics")
for series in 'wagate_jobs_finished_total{kind="text",outcome="sent"}' \
              'wagate_jobs_finished_total{kind="create_group",outcome="sent"}' \
              'wagate_webhook_deliveries_total{outcome="delivered"}' \
              'wagate_inbound_messages_total{kind="image"}'; do
  grep -qF "$series" <<<"$METRICS" || { echo "the host's /metrics lacks $series" >&2; exit 1; }
done
echo "the host counts its jobs, deliveries and received messages"

echo "== a query while no host runs, answered by the next host"
stop_pid "$HOST_PID"
QUERY=$(python3 scripts/cloud_e2e.py ask "$(cat "$E2E_SESSION_FILE")") || { show_logs; exit 1; }
start_host
python3 scripts/cloud_e2e.py answer "$QUERY" || { show_logs; exit 1; }

if [ "$KEEP" = true ]; then
  echo "API: $WAGATE_API  (X-API-Key: $ADMIN_API_KEY); logs in $LOGS. Ctrl-C stops."
  wait
fi
