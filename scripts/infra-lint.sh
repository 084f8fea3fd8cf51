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

echo "infra lint: ok"
