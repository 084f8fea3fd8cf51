#!/usr/bin/env bash
# Sticker conversion, wagate vs sharp, on the same machine in the same run with the same
# inputs (a 1024x1024 PNG with alpha and a 4000x3000 JPEG). sharp comes from the npm registry
# into scripts/bench-sticker/node_modules. Usage: bash scripts/bench-sticker.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-30}"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
(cd scripts/bench-sticker && npm install --no-audit --no-fund --silent >/dev/null)
cargo build --release -q -p wagate-media --example sticker_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/sticker_bench"
"$BIN" --make "$DIR"
echo "inputs: $(ls -l "$DIR" | awk 'NR>1 {print $9" "$5" bytes"}' | paste -sd', ')"
"$BIN" "$DIR" "$RUNS"
node scripts/bench-sticker/sharp.mjs "$DIR" "$RUNS"
node scripts/bench-sticker/sharp.mjs "$DIR" "$RUNS" 1
