#!/usr/bin/env bash
# Webhook dispatch benchmark: the dispatcher of `wagate local` (embedded store and queue)
# delivering signed `message_sent` events to a loopback receiver that checks each signature.
# Throughput from a queued backlog, then enqueue → arrival latency at a fixed rate; fails if an
# event is lost, doubled or badly signed. Figures go to docs/benchmarks.md.
#
#   bash scripts/bench-webhooks.sh                 # 50,000 backlog, then 1,000/s for 20 s
#   bash scripts/bench-webhooks.sh 5000 200 5      # a quick check
# Arguments: backlog, rate/s, seconds, concurrency (default: the dispatcher's, 16).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p wagate --example webhook_dispatch
"${CARGO_TARGET_DIR:-target}/release/examples/webhook_dispatch" "$@"
