#!/usr/bin/env bash
# Lints the SAM template offline with cfn-lint and `sam validate --lint`.
# Tools live in .venv-infra (created on first run, reused after).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0
VENV="${WAGATE_INFRA_VENV:-.venv-infra}"
TEMPLATE=infra/template.yaml

ensure_venv "$VENV" "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION"

# Both tools work offline; they only need a region to pick the resource specification.
export AWS_DEFAULT_REGION=us-east-1
export SAM_CLI_TELEMETRY=0

echo "== cfn-lint $TEMPLATE"
"$VENV/bin/cfn-lint" "$TEMPLATE"

echo "== sam validate --lint $TEMPLATE"
"$VENV/bin/sam" validate --lint --template-file "$TEMPLATE"

# `sam build` itself, with cargo lambda replaced by a recorder: the template's functions reach
# infra/Makefile's targets, which ask for the size profile and each function's features and
# hand SAM a bootstrap. (The real build is slow and cross-compiles to arm64; its sizes are in
# docs/benchmarks.md.)
echo "== sam build (cargo lambda recorded, not run)"
DRY=$(mktemp -d)
trap 'rm -rf "$DRY"' EXIT
cat >"$DRY/cargo-lambda" <<'SH'
#!/usr/bin/env bash
echo "$*" >>"${0%/*}/calls"
while [ $# -gt 0 ]; do
  case "$1" in --lambda-dir) dir=$2; shift ;; --bin) bin=$2; shift ;; esac
  shift
done
mkdir -p "$dir/$bin" && echo "bootstrap of $bin" >"$dir/$bin/bootstrap"
SH
chmod +x "$DRY/cargo-lambda"
CARGO_LAMBDA="$DRY/cargo-lambda" CARGO_TARGET_DIR="$DRY/target" \
  "$VENV/bin/sam" build --build-dir "$DRY/build" >"$DRY/sam.log" 2>&1 \
  || { cat "$DRY/sam.log" >&2; exit 1; }
expect() { # function, features, binary
  grep -qxF -- "build --profile lambda --arm64 --locked -p wagate --no-default-features --features $2 --bin $3 --lambda-dir $DRY/target/lambda-sam/$1" "$DRY/calls" \
    || { echo "sam build did not build $1 as expected; calls:" >&2; cat "$DRY/calls" >&2; exit 1; }
}
expect api aws api
expect upload aws,images upload
expect webhooks aws webhooks
for f in ApiFunction UploadFunction WebhooksFunction; do
  [ -s "$DRY/build/$f/bootstrap" ] || { echo "no bootstrap for $f" >&2; exit 1; }
done

echo "infra lint: ok"
