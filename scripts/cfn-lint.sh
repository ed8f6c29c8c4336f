#!/usr/bin/env bash
# CloudFormation gate: lints deploy/cloudformation/*.yaml with the AWS
# CloudFormation linter (PyPI) and runs the Go wiring test in tools/cfncheck
# (its own module). Needs python3 and Go; no AWS account, no server.
#
# cfn-lint and every package it depends on are pinned, with the sha256 of each
# of their PyPI files, in scripts/cfn-lint-requirements.txt (generated from
# scripts/cfn-lint-requirements.in, which holds the cfn-lint pin). They are
# installed with --no-deps --require-hashes into a venv under .cache/ named
# after the requirements file's hash, reused while that file is unchanged.
#
#   scripts/cfn-lint.sh                            lint and test
#   scripts/cfn-lint.sh --regenerate-requirements  rewrite the requirements file
#       from the .in file with pip-compile (pip-tools, pinned below, in its own
#       venv under .cache/); review and commit the result
#   SMARTAUTH_CLI=/path/to/smartauth  use this CLI for `metadata --check`
#                                     instead of building ./cmd/smartauth
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/cfn-lint-requirements.txt
PIP_TOOLS_VERSION=7.6.2

if [ "${1:-}" = --regenerate-requirements ]; then
	tools=.cache/pip-tools-$PIP_TOOLS_VERSION
	if ! "$tools/bin/pip-compile" --version 2>/dev/null | grep -qF "$PIP_TOOLS_VERSION"; then
		rm -rf "$tools"
		python3 -m venv "$tools"
		"$tools/bin/pip" install --quiet --disable-pip-version-check "pip-tools==$PIP_TOOLS_VERSION"
	fi
	# Hashes of every file of each pinned release (all platforms), not only the
	# ones this machine would install; no machine-specific index or find-links.
	CUSTOM_COMPILE_COMMAND="bash scripts/cfn-lint.sh --regenerate-requirements" \
		"$tools/bin/pip-compile" --quiet --upgrade --generate-hashes --allow-unsafe --no-strip-extras \
		--no-emit-find-links --no-emit-index-url \
		--output-file "$requirements" "${requirements%.txt}.in"
	echo "rewrote $requirements"
	exit 0
fi

CFN_LINT_VERSION=$(sed -n 's/^cfn-lint==\([^ ]*\) .*/\1/p' "$requirements")
[ -n "$CFN_LINT_VERSION" ] || { echo "cfn-lint: no cfn-lint==VERSION line in $requirements" >&2; exit 1; }
req_hash=$(sha256sum "$requirements" | cut -c1-12)
venv=.cache/cfn-lint-$CFN_LINT_VERSION-$req_hash
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qF "$CFN_LINT_VERSION"; then
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$requirements"
	# Every requirement is pinned, so nothing may be missing.
	if ! check=$("$venv/bin/pip" check); then
		echo "$check" >&2
		rm -rf "$venv"
		exit 1
	fi
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
