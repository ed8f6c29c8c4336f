#!/usr/bin/env bash
# CloudFormation gate: lints deploy/cloudformation/*.yaml with the AWS
# CloudFormation linter (PyPI, pinned, installed in a venv under .cache/) and
# runs the Go wiring test in tools/cfncheck (its own module). Needs python3 and
# Go; no AWS account, no server.
#
#   SMARTAUTH_CLI=/path/to/smartauth  use this CLI for `metadata --check`
#                                     instead of building ./cmd/smartauth
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
# Errors fail (exit status); warnings and informational findings are printed
# and fail too: the templates are kept free of them, and every suppressed rule
# is justified next to the resource that suppresses it.
status=0
report=$("$venv/bin/cfn-lint" --non-zero-exit-code error --include-checks I -- deploy/cloudformation/*.yaml) || status=$?
if [ -n "$report" ]; then
	echo "$report"
fi
if [ "$status" -ne 0 ]; then
	echo "cfn-lint: errors above" >&2
	exit 1
fi
if [ -n "$report" ]; then
	echo "cfn-lint: warnings or informational findings above" >&2
	exit 1
fi

echo "== tools/cfncheck (wiring test)"
(cd tools/cfncheck && go vet ./... && go test -count=1 ./...)
