"""The proof-of-work gate with the official ALTCHA Python library (PyPI `altcha`, its unprefixed
v2 API) as the client: it parses the served challenge, solves it, and builds the payload the
widget would send. Tokens are verified with PyJWT against the JWKS.

Usage: pow.py SERVERS_JSON   (written by ./run; uses "pow", "pow-ttl", "pow-replica-a",
"pow-replica-b" and "HS256" (POW=off))
Prints one PASS/FAIL line per check.
"""
import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import altcha
import jwt as pyjwt

SERVERS = json.load(open(sys.argv[1]))
PREFIX = "tag:cusdeb.com,2026:anonymous/pow/"


def check(name, fn):
    try:
        fn()
        print(f"PASS altcha-python {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - any failure is reported, none is fatal
        print(f"FAIL altcha-python {name}: {type(e).__name__}: {e}", flush=True)


def request(url, headers=None):
    """(status, body bytes, headers) of GET url."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def challenge(base):
    status, body, headers = request(base + "/anonymous/challenge")
    assert status == 200, status
    assert headers["Cache-Control"] == "no-store", headers["Cache-Control"]
    return altcha.Challenge.from_dict(json.loads(body))


def solve(ch):
    solution = altcha.solve_challenge(ch, timeout=60)
    assert solution is not None, "the library found no solution in 60 s"
    return solution


def payload(ch, solution):
    return altcha.Payload(ch, solution).to_base64()


def with_header(base, p):
    return request(base + "/anonymous/", {"Altcha": p})


def refused(result, kind):
    status, body, _ = result
    assert status == 403, (status, body[:200])
    problem = json.loads(body)
    assert problem["type"] == PREFIX + kind, problem["type"]
    assert problem["status"] == 403 and problem["challenge"].endswith("/anonymous/challenge"), problem


def verified(base, token):
    jwks = json.loads(request(base + "/.well-known/jwks.json")[1])
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    claims = pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=["ES256"])
    assert claims["user_id"] == -1 and claims["token_type"] == "access", claims


def solve_served_challenge():
    base = SERVERS["pow"]
    ch = challenge(base)
    assert ch.parameters.algorithm == "PBKDF2/SHA-256" and ch.parameters.key_prefix == "000"
    p = payload(ch, solve(ch))
    status, body, _ = with_header(base, p)
    assert status == 200, (status, body)
    verified(base, body.decode())
    refused(with_header(base, p), "replayed")
    # In the query parameter, percent-encoded.
    p = payload(*(lambda c: (c, solve(c)))(challenge(base)))
    status, body, _ = request(base + "/anonymous/?altcha=" + urllib.parse.quote(p, safe=""))
    assert status == 200, (status, body)
    status, body, _ = request(base + "/anonymous/?altcha=" + urllib.parse.quote(p, safe=""))
    assert status == 403


def the_library_accepts_what_we_sign():
    # The library's own verify_solution, given the key, accepts a payload for our challenge:
    # our signature is the library's signature.
    base = SERVERS["pow"]
    ch = challenge(base)
    result = altcha.verify_solution(payload(ch, solve(ch)), "interop-pow-hmac-key-0123456789abcdef")
    assert result.verified, vars(result)


def replay_at_another_replica():
    a, b = SERVERS["pow-replica-a"], SERVERS["pow-replica-b"]
    ch = challenge(a)
    p = payload(ch, solve(ch))
    status, body, _ = with_header(b, p)
    assert status == 200, (status, body)
    refused(with_header(a, p), "replayed")
    refused(with_header(b, p), "replayed")


def expired():
    base = SERVERS["pow-ttl"]
    ch = challenge(base)
    p = payload(ch, solve(ch))
    time.sleep(max(0, ch.parameters.expires_at - time.time()) + 1.2)
    refused(with_header(base, p), "expired")


def tampered_signature():
    base = SERVERS["pow"]
    ch = challenge(base)
    solution = solve(ch)
    ch.signature = ("0" if ch.signature[0] != "0" else "1") + ch.signature[1:]
    refused(with_header(base, payload(ch, solution)), "tampered")


def tampered_parameters():
    base = SERVERS["pow"]
    ch = challenge(base)
    # Cheaper work, solved honestly for the changed parameters: the signature no longer fits.
    ch.parameters.cost = 1
    refused(with_header(base, payload(ch, solve(ch))), "tampered")
    ch = challenge(base)
    solution = solve(ch)
    ch.parameters.expires_at += 3600
    refused(with_header(base, payload(ch, solution)), "tampered")


def wrong_challenge():
    base = SERVERS["pow"]
    first, second = challenge(base), challenge(base)
    refused(with_header(base, payload(first, solve(second))), "wrong")


def garbage_and_oversized():
    base = SERVERS["pow"]
    refused(with_header(base, "this is not base64!"), "malformed")
    refused(with_header(base, base64.b64encode(b'{"challenge": 1}').decode()), "malformed")
    refused(with_header(base, base64.b64encode(b"A" * 60000).decode()), "malformed")
    refused(request(base + "/anonymous/?altcha=" + "QUFB" * 1000), "malformed")
    refused(request(base + "/anonymous/"), "missing")


def pow_off_unchanged():
    base = SERVERS["HS256"]
    status, _, _ = request(base + "/anonymous/challenge")
    assert status == 404, status
    status, body, _ = request(base + "/anonymous/")
    assert status == 200 and body.count(b".") == 2, (status, body)


check("solves a served challenge: token verifies; replay refused (header and query)", solve_served_challenge)
check("verify_solution accepts a payload for our challenge (same signature)", the_library_accepts_what_we_sign)
check("replay at another replica through Redis refused", replay_at_another_replica)
check("expired challenge refused", expired)
check("tampered signature refused", tampered_signature)
check("tampered parameters refused", tampered_parameters)
check("solution of another challenge refused", wrong_challenge)
check("garbage, non-payload and oversized payloads refused; missing refused", garbage_and_oversized)
check("POW=off: no challenge, tokens as before", pow_off_unchanged)
