// Node verifier: jose's createRemoteJWKSet + jwtVerify for every asymmetric ALGO.
// Usage: node verify.mjs SERVERS_JSON. Prints one PASS/FAIL line per check.
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';

const servers = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const ASYM = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

for (const alg of ASYM) {
  try {
    const base = servers[alg];
    const token = await (await fetch(`${base}/anonymous/`)).text();
    const header = decodeProtectedHeader(token);
    if (header.alg !== alg || !header.kid) throw new Error(`header ${JSON.stringify(header)}`);
    const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { algorithms: [alg] });
    const keys = Object.keys(payload).sort().join(',');
    if (keys !== 'exp,jti,token_type,user_id') throw new Error(`claims ${keys}`);
    if (payload.user_id !== -1 || payload.token_type !== 'access') throw new Error(JSON.stringify(payload));
    // A forged payload must not verify.
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...payload, user_id: 1 })).toString('base64url');
    let rejected = false;
    try { await jwtVerify(`${h}.${forged}.${s}`, jwks, { algorithms: [alg] }); } catch { rejected = true; }
    if (!rejected) throw new Error('forged token verified');
    console.log(`PASS node jose createRemoteJWKSet ${alg}`);
  } catch (e) {
    console.log(`FAIL node jose createRemoteJWKSet ${alg}: ${e.message}`);
  }
}
