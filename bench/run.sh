#!/usr/bin/env bash
# bench/run.sh: the peer comparison. Installs aws-jwt-verify (pinned, npm) under
# .cache/bench/node of the repository, checks that every contender really validates
# (go test), then runs the interleaved rounds and prints a markdown table.
#
#   bench/run.sh [-rounds N] [-benchtime D]     (defaults: 15 rounds of 200ms per contender)
set -euo pipefail

AWS_JWT_VERIFY_VER=5.2.1   # as in scripts/lib/cognito-local.sh
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
export AWS_JWT_VERIFY_PREFIX="$ROOT/.cache/bench/node"

for c in go node npm; do
  command -v "$c" >/dev/null 2>&1 || { echo "run.sh: $c not found" >&2; exit 1; }
done

pkg="$AWS_JWT_VERIFY_PREFIX/node_modules/aws-jwt-verify/package.json"
if [ "$(node -p "require('$pkg').version" 2>/dev/null || true)" != "$AWS_JWT_VERIFY_VER" ]; then
  echo "run.sh: npm install aws-jwt-verify@$AWS_JWT_VERIFY_VER into $AWS_JWT_VERIFY_PREFIX" >&2
  mkdir -p "$AWS_JWT_VERIFY_PREFIX"
  npm install --prefix "$AWS_JWT_VERIFY_PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
    "aws-jwt-verify@$AWS_JWT_VERIFY_VER" >&2
fi

cd "$BENCH_DIR"
BENCH_REQUIRE_NODE=1 go test -count=1 ./... >&2
go build -o "$ROOT/.cache/bench/bench" .
echo "run.sh: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$ROOT/.cache/bench/bench" "$@"
