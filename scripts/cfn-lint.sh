#!/usr/bin/env bash
# CloudFormation gate: lints deploy/cloudformation/*.yaml with the AWS
# CloudFormation linter (pinned, installed in a venv under .cache/) and runs
# the Go wiring test in tools/cfncheck. Needs python3 and Go; no AWS access.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
venv=.cache/cfn-lint-$CFN_LINT_VERSION
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qF "$CFN_LINT_VERSION"; then
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

echo "== cfn-lint $CFN_LINT_VERSION"
# Errors fail the gate; warnings are printed. Both templates are kept free of
# warnings too: every suppressed rule is justified next to the resource.
"$venv/bin/cfn-lint" --non-zero-exit-code error -- deploy/cloudformation/*.yaml
# Warnings must stay at zero as well (a non-empty report fails here).
report=$("$venv/bin/cfn-lint" --non-zero-exit-code none -- deploy/cloudformation/*.yaml)
if [ -n "$report" ]; then
	echo "$report"
	echo "cfn-lint: warnings or informational findings above" >&2
	exit 1
fi

echo "== CloudFormation wiring test (tools/cfncheck)"
(cd tools/cfncheck && go test -count=1 ./...)
