// CusDeb Anonymous: how a web app gets an anonymous token, and how a browser checks one.
// With POW=altcha the ALTCHA widget solves a challenge from GET /anonymous/challenge and its
// payload goes with the token request (here in the Altcha header; the altcha query parameter
// works too). The token's signature is then checked with WebCrypto against the JWKS.
'use strict';

(() => {
  const main = document.getElementById('demo');
  const form = document.getElementById('get-token');
  const button = document.getElementById('get');
  const status = document.getElementById('status');
  const verdict = document.getElementById('verdict');
  const pow = main.dataset.pow === 'altcha';
  const widget = form.querySelector('altcha-widget');

  // The widget's latest payload (the visitor may tick it before pressing the button), and
  // the payloads already spent: each solved challenge buys one token.
  let ticked = null;
  const spent = new Set();
  if (pow) {
    // The CSP-friendly build bundles no worker: register the one this issuer's challenges need.
    globalThis.$altcha.algorithms.set('PBKDF2/SHA-256', () => new Worker('demo/pbkdf2.js'));
    widget.addEventListener('verified', (event) => { ticked = event.detail.payload; });
  }

  const say = (text) => { status.textContent = text; };

  // base64url to bytes.
  const bytes = (text) => {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  const json = (part) => JSON.parse(new TextDecoder().decode(bytes(part)));

  // JWS alg -> WebCrypto import and verify parameters.
  const ALGS = {
    ES256: [{ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
    ES384: [{ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
    RS256: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, { name: 'RSASSA-PKCS1-v1_5' }],
    RS384: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, { name: 'RSASSA-PKCS1-v1_5' }],
    RS512: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' }, { name: 'RSASSA-PKCS1-v1_5' }],
    PS256: [{ name: 'RSA-PSS', hash: 'SHA-256' }, { name: 'RSA-PSS', saltLength: 32 }],
    PS384: [{ name: 'RSA-PSS', hash: 'SHA-384' }, { name: 'RSA-PSS', saltLength: 48 }],
    PS512: [{ name: 'RSA-PSS', hash: 'SHA-512' }, { name: 'RSA-PSS', saltLength: 64 }],
    EdDSA: [{ name: 'Ed25519' }, { name: 'Ed25519' }],
  };

  // { state: 'ok' | 'bad' | 'info', text }
  async function check(token) {
    const [h, p, s] = token.split('.');
    const header = json(h);
    if (header.alg.startsWith('HS')) {
      return { state: 'info', text: `Not checked here: ${header.alg} tokens are signed with a shared secret, which only the issuer and CusDeb's API hold (a browser must never have it). Verifiers need SECRET_KEY, not the JWKS.` };
    }
    const params = ALGS[header.alg];
    if (!params) return { state: 'bad', text: `Not verified: this page does not know ${header.alg}.` };
    const resp = await fetch('.well-known/jwks.json', { cache: 'no-store' });
    const jwk = (await resp.json()).keys.find((k) => k.kid === header.kid);
    if (!jwk) return { state: 'bad', text: `Not verified: no key with kid ${header.kid} in /.well-known/jwks.json.` };
    const key = await crypto.subtle.importKey('jwk', jwk, params[0], false, ['verify']);
    const ok = await crypto.subtle.verify(params[1], key, bytes(s), new TextEncoder().encode(`${h}.${p}`));
    return ok
      ? { state: 'ok', text: `Verified: the ${header.alg} signature matches key ${header.kid} from /.well-known/jwks.json.` }
      : { state: 'bad', text: `Not verified: the signature does not match key ${header.kid}.` };
  }

  async function getToken() {
    const headers = { Accept: 'application/json' };
    if (pow) {
      // Each solved challenge buys one token: use the one the visitor ticked, else solve anew.
      let payload = ticked && !spent.has(ticked) ? ticked : null;
      if (!payload) {
        say('Working on the proof of work…');
        widget.reset();
        const solved = await widget.verify();
        payload = solved && solved.payload;
      }
      if (!payload) throw new Error('the proof of work did not finish; try again');
      spent.add(payload);
      headers.Altcha = payload;
    }
    say('Waiting for the issuer (it may hold a request for ISSUE_DELAY seconds)…');
    const resp = await fetch('anonymous/', { headers, cache: 'no-store' });
    if (!resp.ok) {
      const problem = await resp.json().catch(() => ({}));
      throw new Error(`${resp.status} ${problem.title || resp.statusText}: ${problem.detail || ''}`);
    }
    return (await resp.json()).access_token;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const token = await getToken();
      const [h, p] = token.split('.');
      document.getElementById('header').textContent = JSON.stringify(json(h), null, 2);
      const claims = json(p);
      document.getElementById('claims').textContent = JSON.stringify(claims, null, 2);
      document.getElementById('token').textContent = token;
      document.getElementById('result').hidden = false;
      say('Checking the signature…');
      const result = await check(token);
      verdict.textContent = result.text;
      verdict.className = result.state;
      const left = claims.exp - Math.floor(Date.now() / 1000);
      say(`Got a token for user_id ${claims.user_id}; it expires in ${left} s.`);
    } catch (error) {
      say(`No token: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
})();
