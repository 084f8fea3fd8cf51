#!/usr/bin/env bash
# The test command of the README: every test of the workspace. The AWS adapters' contract
# suites need a local AWS emulator: this installs moto server in .venv (once), starts it on a
# free loopback port (scripts/lib.sh: through scripts/moto_server.py, with DynamoDB's
# atomicity), points the tests at it, and stops it by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

VENV="${WAGATE_VENV:-.venv}"
ensure_venv "$VENV" 'moto[server]'
start_moto "$VENV"

export WAGATE_TEST_AWS_ENDPOINT="$MOTO_ENDPOINT"
cargo test --workspace --all-features --locked "$@"
# The API as the `api` Lambda function is built, without image processing: stickers refused.
cargo test -p wagate-functions --locked --test media "$@"
