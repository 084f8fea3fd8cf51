#!/usr/bin/env bash
# Sticker conversion, wagate vs sharp, on the same machine in the same run with the same
# inputs (a 1024x1024 PNG with alpha and a 4000x3000 JPEG). sharp comes from the npm registry
# into scripts/bench-sticker/node_modules. Usage: bash scripts/bench-sticker.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
RUNS="${1:-30}"
DIR="$(mktemp -d)"
remove_on_exit "$DIR"
(cd scripts/bench-sticker && npm install --no-audit --no-fund --silent >/dev/null)
cargo build --release -q -p wagate-media --features images --example sticker_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/sticker_bench"
"$BIN" --make "$DIR"
echo "inputs: $(find "$DIR" -maxdepth 1 -type f -printf '%f %s bytes\n' | sort | paste -sd', ')"
"$BIN" "$DIR" "$RUNS"
node scripts/bench-sticker/sharp.mjs "$DIR" "$RUNS"
node scripts/bench-sticker/sharp.mjs "$DIR" "$RUNS" 1
