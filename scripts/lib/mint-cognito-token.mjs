// Mints a Cognito-shaped access token for scripts/postman.sh: a fresh RSA key (never stored beyond
// this run), its JWKS written to JWKS_FILE, and an RS256 token with the claims of a Cognito
// client-credentials access token (as Cognito issues it: kid+alg header without typ, no aud,
// token_use "access", client_id, sub == client_id, scope with resource-server scopes).
// Usage: node mint-cognito-token.mjs ISSUER CLIENT_ID "SCOPES" JWKS_FILE   (token on stdout)
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [issuer, clientId, scope, jwksFile] = process.argv.slice(2);
if (!issuer || !clientId || !scope || !jwksFile) {
  console.error('usage: node mint-cognito-token.mjs ISSUER CLIENT_ID "SCOPES" JWKS_FILE');
  process.exit(2);
}
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = randomUUID();
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));

const now = Math.floor(Date.now() / 1000);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = { kid, alg: 'RS256' };
const claims = {
  sub: clientId, token_use: 'access', scope, auth_time: now, iss: issuer, exp: now + 3600, iat: now,
  version: 2, jti: randomUUID(), client_id: clientId,
};
const input = `${b64(header)}.${b64(claims)}`;
const sig = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
process.stdout.write(`${input}.${sig}\n`);
