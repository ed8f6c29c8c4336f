// The node side of the comparison: aws-jwt-verify's JwtVerifier (hydrated
// with the JWK, verifySync) and node's own crypto.verify on the same token.
//
//   node verify.cjs check FIXTURE     prints {"good":..,"wrongAud":..,...}: "ok" or the error
//   node verify.cjs serve FIXTURE     reads "round <ms>" lines on stdin; for each, times both
//                                     for <ms> each and prints {"raw":ns/op,"awsJwtVerify":ns/op}
//
// AWS_JWT_VERIFY_PREFIX is the npm prefix aws-jwt-verify is installed in.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const prefix = process.env.AWS_JWT_VERIFY_PREFIX;
if (!prefix) throw new Error("AWS_JWT_VERIFY_PREFIX is not set");
const { JwtVerifier } = require(path.join(prefix, "node_modules", "aws-jwt-verify"));

const [mode, fixturePath] = process.argv.slice(2);
const fx = JSON.parse(fs.readFileSync(fixturePath, "utf8"));

// As a user would configure it for the Keycloak realm: RS256 comes from the
// JWK's alg; iss, aud, exp and nbf are checked by default; typ by a custom check.
const verifier = JwtVerifier.create({
  issuer: fx.issuer,
  audience: fx.audience,
  jwksUri: fx.issuer + "/protocol/openid-connect/certs",
  customJwtCheck: ({ payload }) => {
    if (payload.typ !== "Bearer") throw new Error("typ is not Bearer");
  },
});
verifier.cacheJwks({ keys: [fx.jwk] });

// The baseline: SHA-256 + RSA PKCS#1 v1.5 on the signing input, the key
// object and the decoded signature prepared once.
const dot = fx.good.lastIndexOf(".");
const input = Buffer.from(fx.good.slice(0, dot));
const sig = Buffer.from(fx.good.slice(dot + 1), "base64url");
const pub = crypto.createPublicKey({ key: fx.jwk, format: "jwk" });
const raw = () => {
  if (!crypto.verify("RSA-SHA256", input, pub, sig)) throw new Error("raw verify failed");
};
const aws = () => verifier.verifySync(fx.good);

// nsPerOp runs fn for about ms milliseconds and returns ns per call.
function nsPerOp(fn, ms) {
  for (let i = 0; i < 50; i++) fn(); // warm the JIT
  const budget = BigInt(ms) * 1000000n;
  const start = process.hrtime.bigint();
  let n = 0;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / n;
}

if (mode === "check") {
  const out = {};
  for (const name of ["good", "wrongAud", "expired", "badSig", "idToken"]) {
    try {
      verifier.verifySync(fx[name]);
      out[name] = "ok";
    } catch (e) {
      out[name] = String(e.message || e);
    }
  }
  raw();
  console.log(JSON.stringify(out));
} else if (mode === "serve") {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const [cmd, ms] = line.trim().split(" ");
    if (cmd !== "round") throw new Error("unknown command " + cmd);
    const r = nsPerOp(raw, Number(ms));
    const a = nsPerOp(aws, Number(ms));
    console.log(JSON.stringify({ raw: r, awsJwtVerify: a }));
  });
} else {
  throw new Error("usage: verify.cjs check|serve FIXTURE");
}
