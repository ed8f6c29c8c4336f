#!/usr/bin/env node
// Differential oracle: runs test tokens through aws-jwt-verify (pinned 5.2.1) and prints one JSON
// line per token: {"name":..., "decision":"accept"|"reject", "error":"<error class name>", "message":"<e.message>"}
// ("error"/"message" only on reject).
//
// Usage: node scripts/differential/oracle.mjs <cases.json> [node-prefix]
//   cases.json: [{"name":..., "token":..., "issuer":..., "jwks":{...}, "kind":"keycloak"|"cognito",
//                 "audience"?: [...], "clientId"?: [...]}]
//   node-prefix: the npm --prefix holding node_modules/aws-jwt-verify; default $SMARTAUTH_NODE_PREFIX,
//                else <repo>/.cache/node.
//
// How each kind is verified:
//   keycloak: JwtVerifier{issuer, audience (null when absent), customJwtCheck: payload.typ === "Bearer"}.
//   cognito:  issuer https://cognito-idp.<region>.amazonaws.com/<region>_<id> → CognitoJwtVerifier
//             {userPoolId, tokenUse:"access", clientId (null when absent)}; any other issuer (cognito-local:
//             http://127.0.0.1:PORT/local_xxx, which CognitoJwtVerifier refuses) → JwtVerifier{issuer,
//             audience:null, customJwtCheck: token_use === "access" && client_id in clientId (when given)}.
// The JWKS is never fetched: it is cached from the case (jwksUri is a dummy https URL because
// aws-jwt-verify refuses http: URIs). verifySync is used, so an unknown kid is a reject
// (JwksNotAvailableInCacheError / KidNotFoundInJwksError), never a network fetch.
// Exit status: 0 when every case was decided (accept or reject), 2 on bad input/usage.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [casesFile, prefixArg] = process.argv.slice(2);
if (!casesFile) {
  process.stderr.write('usage: oracle.mjs <cases.json> [node-prefix]\n');
  process.exit(2);
}
const prefix = path.resolve(prefixArg || process.env.SMARTAUTH_NODE_PREFIX || path.join(here, '..', '..', '.cache', 'node'));
const requireFromPrefix = createRequire(path.join(prefix, 'package.json'));
let lib;
try {
  lib = requireFromPrefix('aws-jwt-verify');
} catch (e) {
  process.stderr.write(`oracle: cannot load aws-jwt-verify from ${prefix}: ${e.message}\n`);
  process.exit(2);
}
const { JwtVerifier, CognitoJwtVerifier } = lib;

const DUMMY_JWKS_URI = 'https://unused.invalid/jwks.json';
const COGNITO_ISS = /^https:\/\/cognito-idp\.([a-z0-9-]+)\.amazonaws\.com\/(\1_[A-Za-z0-9]+)$/;

class CheckError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// aws-jwt-verify's error classes (JwtInvalidIssuerError, JwtInvalidSignatureError, ...) leave e.name at
// "Error", so report the class name, which says what failed.
function errorName(e) {
  if (e && e.name && e.name !== 'Error') return e.name;
  return (e && e.constructor && e.constructor.name) || 'Error';
}

function listOrNull(v) {
  if (v === undefined || v === null) return null;
  return Array.isArray(v) ? v : [v];
}

function verifierFor(c) {
  const audience = listOrNull(c.audience);
  const clientId = listOrNull(c.clientId);
  switch (c.kind) {
    case 'keycloak': {
      const v = JwtVerifier.create({
        issuer: c.issuer,
        audience,
        jwksUri: DUMMY_JWKS_URI,
        customJwtCheck: ({ payload }) => {
          if (payload.typ !== 'Bearer') throw new CheckError('KeycloakTypError', `payload typ ${JSON.stringify(payload.typ)} is not "Bearer"`);
        },
      });
      v.cacheJwks(c.jwks);
      return v;
    }
    case 'cognito': {
      const m = COGNITO_ISS.exec(c.issuer || '');
      if (m) {
        const v = CognitoJwtVerifier.create({ userPoolId: m[2], tokenUse: 'access', clientId });
        v.cacheJwks(c.jwks);
        return v;
      }
      const v = JwtVerifier.create({
        issuer: c.issuer,
        audience: null,
        jwksUri: DUMMY_JWKS_URI,
        customJwtCheck: ({ payload }) => {
          if (payload.token_use !== 'access') throw new CheckError('CognitoJwtInvalidTokenUseError', `token_use ${JSON.stringify(payload.token_use)} is not "access"`);
          if (clientId && !clientId.includes(payload.client_id)) throw new CheckError('CognitoJwtInvalidClientIdError', `client_id ${JSON.stringify(payload.client_id)} not allowed`);
        },
      });
      v.cacheJwks(c.jwks);
      return v;
    }
    default:
      throw new Error(`unknown kind ${JSON.stringify(c.kind)}`);
  }
}

let cases;
try {
  cases = JSON.parse(readFileSync(casesFile, 'utf8'));
  if (!Array.isArray(cases)) throw new Error('top level is not an array');
} catch (e) {
  process.stderr.write(`oracle: bad cases file ${casesFile}: ${e.message}\n`);
  process.exit(2);
}

let bad = false;
for (const c of cases) {
  if (typeof c.name !== 'string' || typeof c.token !== 'string' || typeof c.issuer !== 'string' || typeof c.jwks !== 'object' || c.jwks === null) {
    process.stderr.write(`oracle: case ${JSON.stringify(c.name)}: name, token, issuer (strings) and jwks (object) are required\n`);
    bad = true;
    continue;
  }
  let v;
  try {
    v = verifierFor(c);
  } catch (e) {
    // A configuration error (bad kind, JWKS the library refuses to cache) is not a token decision.
    process.stderr.write(`oracle: case ${c.name}: cannot build verifier: ${e.name}: ${e.message}\n`);
    bad = true;
    continue;
  }
  try {
    v.verifySync(c.token);
    process.stdout.write(JSON.stringify({ name: c.name, decision: 'accept' }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ name: c.name, decision: 'reject', error: errorName(e), message: e.message }) + '\n');
  }
}
process.exit(bad ? 2 : 0);
