"""Python verifiers against running issuers: PyJWT, djangorestframework-simplejwt, jwcrypto.

Usage: verifiers.py SERVERS_JSON   (written by ./run: {"HS256": "http://127.0.0.1:port", ...})
Prints one PASS/FAIL line per check.
"""
import json
import os
import sys
import time
import urllib.request

import jwt as pyjwt
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jwt as jwc_jwt

SERVERS = json.load(open(sys.argv[1]))
SECRET = os.environ["INTEROP_SECRET"]
HS = ["HS256", "HS384", "HS512"]
ASYM = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]


def check(name, fn):
    try:
        fn()
        print(f"PASS python {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - any failure is reported, none is fatal
        print(f"FAIL python {name}: {type(e).__name__}: {e}", flush=True)


def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read().decode()


def token(alg):
    return get(SERVERS[alg] + "/anonymous/")


def assert_seed_claims(claims, extra=()):
    assert set(claims) == {"token_type", "exp", "jti", "user_id", *extra}, claims
    assert claims["token_type"] == "access" and claims["user_id"] == -1, claims
    assert len(claims["jti"]) == 32 and all(c in "0123456789abcdef" for c in claims["jti"]), claims
    assert abs(claims["exp"] - (time.time() + 20)) < 3, claims


def pyjwt_hmac(alg):
    def run():
        t = token(alg)
        assert pyjwt.get_unverified_header(t) == {"alg": alg, "typ": "JWT"}
        assert_seed_claims(pyjwt.decode(t, SECRET, algorithms=[alg], options={"require": ["exp"]}))
        try:
            pyjwt.decode(t, SECRET + "x", algorithms=[alg])
        except pyjwt.InvalidSignatureError:
            return
        raise AssertionError("verified with a wrong secret")
    return run


def pyjwt_jwks(alg):
    def run():
        t = token(alg)
        client = pyjwt.PyJWKClient(SERVERS[alg] + "/.well-known/jwks.json")
        key = client.get_signing_key_from_jwt(t)
        assert_seed_claims(pyjwt.decode(t, key.key, algorithms=[alg]))
    return run


def simplejwt_hs256():
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="django-unrelated",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework_simplejwt"],
        SIMPLE_JWT={"SIGNING_KEY": SECRET, "ALGORITHM": "HS256", "USER_ID_CLAIM": "user_id"},
    )
    django.setup()
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import AccessToken

    t = token("HS256")
    access = AccessToken(t)
    assert access["user_id"] == -1 and access["token_type"] == "access", access.payload
    head, payload, sig = t.split(".")
    forged = head + "." + payload + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    try:
        AccessToken(forged)
    except TokenError:
        return
    raise AssertionError("simplejwt accepted a forged signature")


def jwcrypto_jwks(alg):
    def run():
        t = token(alg)
        keyset = jwc_jwk.JWKSet.from_json(get(SERVERS[alg] + "/.well-known/jwks.json"))
        keys = list(keyset)
        assert keys, "empty JWKS"
        for k in keys:
            assert k.thumbprint() == k.key_id, f"thumbprint {k.thumbprint()} != kid {k.key_id}"
            assert not k.has_private, "private key material published"
        verified = jwc_jwt.JWT(jwt=t, key=keyset, algs=[alg])
        assert_seed_claims(json.loads(verified.claims))
    return run


def issuer_audience():
    url = SERVERS["ES256+iss"]
    t = get(url + "/anonymous/")
    key = pyjwt.PyJWKClient(url + "/.well-known/jwks.json").get_signing_key_from_jwt(t)
    claims = pyjwt.decode(t, key.key, algorithms=["ES256"], issuer="https://anonymous.cusdeb.test", audience="cusdeb")
    assert_seed_claims(claims, extra=("iss", "aud"))
    disco = json.loads(get(url + "/.well-known/openid-configuration"))
    assert disco["jwks_uri"] == "https://anonymous.cusdeb.test/.well-known/jwks.json", disco


FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keys")
STATIC = {  # server name (./run): the key file its SECRET_KEY holds
    "static-RS256": "rsa2048-pkcs1",
    "static-PS256": "rsa2048-pkcs8",
    "static-ES256": "p256-sec1",
    "static-ES384": "p384-pkcs8",
    "static-EdDSA": "ed25519-pkcs8",
}


def static_key(name):
    """The original's asymmetric mode: the operator's PEM signs; PyJWT verifies with the public
    PEM alone (no JWKS), and the kid is jwcrypto's thumbprint of that public key."""
    def run():
        alg = name.split("-", 1)[1]
        public_pem = open(os.path.join(FIXTURES, STATIC[name] + ".pub.pem"), "rb").read()
        t = get(SERVERS[name] + "/anonymous/")
        header = pyjwt.get_unverified_header(t)
        assert header["alg"] == alg, header
        assert header["kid"] == jwc_jwk.JWK.from_pem(public_pem).thumbprint(), header
        assert_seed_claims(pyjwt.decode(t, public_pem, algorithms=[alg]))
        # The same family's other fixture key must not verify it.
        others = {"rsa2048-pkcs1": "rsa2048-pkcs8", "rsa2048-pkcs8": "rsa2048-pkcs1", "p256-sec1": "p256-pkcs8",
                  "p384-pkcs8": "p384-sec1", "ed25519-pkcs8": None}
        if others[STATIC[name]] is None:
            return
        other = open(os.path.join(FIXTURES, others[STATIC[name]] + ".pub.pem"), "rb").read()
        try:
            pyjwt.decode(t, other, algorithms=[alg])
        except pyjwt.InvalidSignatureError:
            return
        raise AssertionError("verified with another public key")
    return run


for alg in HS:
    check(f"pyjwt {alg} with the shared secret", pyjwt_hmac(alg))
check("simplejwt AccessToken accepts HS256 (CusDeb's verifier)", simplejwt_hs256)
for alg in ASYM:
    check(f"pyjwt PyJWKClient {alg}", pyjwt_jwks(alg))
    check(f"jwcrypto thumbprint == kid, verify {alg}", jwcrypto_jwks(alg))
check("pyjwt iss/aud + discovery", issuer_audience)
for name in STATIC:
    check(f"pyjwt static key {name} with the operator's public PEM", static_key(name))
