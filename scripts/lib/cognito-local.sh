# shellcheck shell=bash
# cognito-local (npm) and the aws-jwt-verify oracle dependency for scripts/integration.sh.
# Sourced after common.sh. Inputs: CACHE, RUN_DIR. Outputs: NODE_PREFIX, COGNITO_* variables.

COGNITO_LOCAL_VER=5.3.0
AWS_JWT_VERIFY_VER=5.2.1
COGNITO_USER=alice@example.org
COGNITO_PASSWORD='Passw0rd!x'   # cognito-local enforces the default policy: upper, lower, digit, symbol
COGNITO_GROUP=practitioners
COGNITO_READY_TIMEOUT=${COGNITO_READY_TIMEOUT:-60}

node_pkg_version() { # node_pkg_version NAME: installed version under $NODE_PREFIX, or empty
  local f="$NODE_PREFIX/node_modules/$1/package.json"
  if [ -f "$f" ]; then json_get "$f" 'd["version"]'; fi
}

node_install() {
  NODE_PREFIX="$CACHE/node"
  if [ "$(node_pkg_version cognito-local)" = "$COGNITO_LOCAL_VER" ] && [ "$(node_pkg_version aws-jwt-verify)" = "$AWS_JWT_VERIFY_VER" ]; then
    log "node: cognito-local@$COGNITO_LOCAL_VER and aws-jwt-verify@$AWS_JWT_VERIFY_VER cached in $NODE_PREFIX"
    return 0
  fi
  mkdir -p "$NODE_PREFIX"
  log "node: npm install cognito-local@$COGNITO_LOCAL_VER aws-jwt-verify@$AWS_JWT_VERIFY_VER into $NODE_PREFIX"
  npm install --prefix "$NODE_PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
    "cognito-local@$COGNITO_LOCAL_VER" "aws-jwt-verify@$AWS_JWT_VERIFY_VER" >&2 \
    || die "npm install into $NODE_PREFIX failed"
  [ "$(node_pkg_version cognito-local)" = "$COGNITO_LOCAL_VER" ] || die "cognito-local $COGNITO_LOCAL_VER not installed"
  [ "$(node_pkg_version aws-jwt-verify)" = "$AWS_JWT_VERIFY_VER" ] || die "aws-jwt-verify $AWS_JWT_VERIFY_VER not installed"
}

cognito_start() {
  local data="$RUN_DIR/cognito"          # cognito-local keeps its state in ./.cognito/db of its cwd
  rm -rf "$data"
  mkdir -p "$data"
  COGNITO_PORT=$(free_port)
  COGNITO_ENDPOINT="http://127.0.0.1:$COGNITO_PORT"
  COGNITO_LOG="$RUN_DIR/cognito-local.log"
  log "cognito-local $COGNITO_LOCAL_VER: starting on $COGNITO_ENDPOINT"
  ( cd "$data" && start_bg cognito-local "$COGNITO_LOG" env HOST=127.0.0.1 PORT="$COGNITO_PORT" \
      node "$NODE_PREFIX/node_modules/cognito-local/lib/bin/start.js" )
  wait_http cognito-local "$COGNITO_ENDPOINT/health" "$COGNITO_READY_TIMEOUT" "$COGNITO_LOG"
  assert_loopback_only cognito-local
}

# cognito_call TARGET JSON OUTFILE: one call of cognito-local's JSON API (the AWS CLI is not needed);
# fails on any non-2xx answer.
cognito_call() {
  local target=$1 body=$2 out=$3 code
  code=$(curl -sS --max-time 20 -o "$out" -w '%{http_code}' -X POST "$COGNITO_ENDPOINT/" \
    -H "X-Amz-Target: AWSCognitoIdentityProviderService.$target" \
    -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "$body") || die "cognito-local $target: request failed"
  case "$code" in
    2??) ;;
    *) die "cognito-local $target: HTTP $code: $(cat "$out")" ;;
  esac
}

# cognito_setup: user pool, app client (USER_PASSWORD_AUTH), confirmed user with a permanent
# password, group with the user in it; then one InitiateAuth to prove the login works.
cognito_setup() {
  local d="$RUN_DIR/cognito-api"
  mkdir -p "$d"
  cognito_call CreateUserPool '{"PoolName":"fhir-pool"}' "$d/pool.json"
  COGNITO_POOL_ID=$(json_get "$d/pool.json" 'd["UserPool"]["Id"]')
  cognito_call CreateUserPoolClient "{\"UserPoolId\":\"$COGNITO_POOL_ID\",\"ClientName\":\"app\",\"ExplicitAuthFlows\":[\"ALLOW_USER_PASSWORD_AUTH\",\"ALLOW_ADMIN_USER_PASSWORD_AUTH\",\"ALLOW_REFRESH_TOKEN_AUTH\"]}" "$d/client.json"
  COGNITO_CLIENT_ID=$(json_get "$d/client.json" 'd["UserPoolClient"]["ClientId"]')
  cognito_call AdminCreateUser "{\"UserPoolId\":\"$COGNITO_POOL_ID\",\"Username\":\"$COGNITO_USER\",\"UserAttributes\":[{\"Name\":\"email\",\"Value\":\"$COGNITO_USER\"},{\"Name\":\"email_verified\",\"Value\":\"true\"}],\"MessageAction\":\"SUPPRESS\"}" "$d/user.json"
  cognito_call AdminSetUserPassword "{\"UserPoolId\":\"$COGNITO_POOL_ID\",\"Username\":\"$COGNITO_USER\",\"Password\":\"$COGNITO_PASSWORD\",\"Permanent\":true}" "$d/password.json"
  cognito_call CreateGroup "{\"UserPoolId\":\"$COGNITO_POOL_ID\",\"GroupName\":\"$COGNITO_GROUP\"}" "$d/group.json"
  cognito_call AdminAddUserToGroup "{\"UserPoolId\":\"$COGNITO_POOL_ID\",\"Username\":\"$COGNITO_USER\",\"GroupName\":\"$COGNITO_GROUP\"}" "$d/member.json"
  cognito_call InitiateAuth "{\"ClientId\":\"$COGNITO_CLIENT_ID\",\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"AuthParameters\":{\"USERNAME\":\"$COGNITO_USER\",\"PASSWORD\":\"$COGNITO_PASSWORD\"}}" "$d/auth.json"
  json_get "$d/auth.json" 'd["AuthenticationResult"]["AccessToken"]' >/dev/null || die "cognito-local: InitiateAuth returned no access token"
  curl -sf --max-time 10 -o "$d/jwks.json" "$COGNITO_ENDPOINT/$COGNITO_POOL_ID/.well-known/jwks.json" || die "cognito-local: JWKS not served"
  log "cognito-local: pool $COGNITO_POOL_ID, client $COGNITO_CLIENT_ID, user $COGNITO_USER in group $COGNITO_GROUP"
}
