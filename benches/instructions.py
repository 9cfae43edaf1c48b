"""Instructions per request under valgrind's callgrind — deterministic, unlike wall-clock time on
a shared machine — for every budgeted path, with the bare poem floor (../shared/bench/floor)
measured in the same run, and a bare ring signature per algorithm.

Method (the same as ../shared/bench/cg_per_request.py): run the server twice under callgrind,
with N1 and N2 keep-alive requests, and divide the difference by N2 - N1, so start-up and
shutdown cancel out. Requests may carry headers (the JWKS 304 row sends If-None-Match).

Usage: python3 benches/instructions.py [--check]
  builds the floor and the release binary, prints the table with ratios and budgets;
  --check compares every row with benches/instructions.json and exits 1 if any grew by more
  than 5 % (the CI regression gate); --write stores this run's figures there.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "bench", "floor")
BASELINE = os.path.join(ROOT, "benches", "instructions.json")
N1, N2 = int(os.environ.get("N1", 300)), int(os.environ.get("N2", 1300))
TOLERANCE = 0.05
BIN = os.path.join(ROOT, "target", "release", "cusdeb-anonymous")
FLOOR = os.path.join(ROOT, "target", "floor", "release", "floor")
SIGN = os.path.join(ROOT, "target", "release", "examples", "sign_bare")
POW = os.path.join(ROOT, "target", "release", "examples", "pow_check")
# Checks of one ALTCHA payload are slow (a PBKDF2 of POW_COST iterations): fewer of them.
P1, P2 = 20, 120


def callgrind_total(cmd, env):
    out = tempfile.mktemp(prefix="cg.", dir="/tmp")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
                         env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, out


def read_total(out):
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return int((re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)).group(1))


def served(cmd, env, path, headers, n, port):
    p, out = callgrind_total(cmd, {**env, "PORT": str(port), "HOST": "127.0.0.1"})
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status in (200, 304):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"no answer on {path}")
        status = r.status
        for _ in range(n):
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            r.read()
            assert r.status == status, (path, r.status)
        c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(120)
    return read_total(out)


def per_request(cmd, env, path, headers=None):
    port = 18900 + os.getpid() % 50
    a = served(cmd, env, path, headers or {}, N1, port)
    b = served(cmd, env, path, headers or {}, N2, port + 1)
    return (b - a) / (N2 - N1)


def per_signature(alg):
    totals = []
    for n in (N1, N2):
        p, out = callgrind_total([SIGN, alg, str(n)], {})
        p.wait(120)
        totals.append(read_total(out))
    return (totals[1] - totals[0]) / (N2 - N1)


def per_check(mode):
    """Instructions of one proof-of-work check (examples/pow_check.rs)."""
    totals = []
    for n in (P1, P2):
        p, out = callgrind_total([POW, mode, str(n)], {})
        assert p.wait(600) == 0, f"pow_check {mode} failed"
        totals.append(read_total(out))
    return (totals[1] - totals[0]) / (P2 - P1)


def etag(env):
    """The JWKS ETag of a server started with `env` (for the 304 row)."""
    port = 18990 + os.getpid() % 9
    p = subprocess.Popen([BIN], env={**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"},
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/.well-known/jwks.json")
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    return r.getheader("ETag")
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("no JWKS")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(30)


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", os.path.join(SHARED, "Cargo.toml"),
                    "--target-dir", os.path.join(ROOT, "target", "floor")], check=True, cwd=ROOT)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "cusdeb-anonymous", "--example", "sign_bare",
                    "--example", "pow_check"],
                   check=True, cwd=ROOT)
    base = {"ISSUE_DELAY": "0", "RUST_LOG": "warn", "SECRET_KEY": "instruction-count-secret-of-32-bytes+"}
    # A static key: the JWKS (one ES256 key) is the same in both runs, so its ETag is too.
    pem = open(os.path.join(ROOT, "tests", "fixtures", "keys", "p256-pkcs8.pem")).read()
    es = {**base, "ALGO": "ES256", "SECRET_KEY": pem}
    floor = per_request([FLOOR], {}, "/anonymous/")
    sig = {alg: per_signature(alg) for alg in ("ES256", "EdDSA")}
    rows = {
        "floor": floor,
        "healthz": per_request([BIN], base, "/healthz"),
        "jwks_200": per_request([BIN], es, "/.well-known/jwks.json"),
        "jwks_304": per_request([BIN], es, "/.well-known/jwks.json", {"If-None-Match": etag(es)}),
        "hs256": per_request([BIN], {**base, "ALGO": "HS256"}, "/anonymous/"),
        # Limits on, in memory, never reached: what identifying and counting a client costs.
        "hs256_limited": per_request([BIN], {**base, "ALGO": "HS256", "ISSUE_RATE": "1000000/s",
                                             "ISSUE_RATE_GLOBAL": "1000000/s"}, "/anonymous/"),
        "es256": per_request([BIN], es, "/anonymous/"),
        "eddsa": per_request([BIN], {**base, "ALGO": "EdDSA", "SECRET_KEY": open(
            os.path.join(ROOT, "tests", "fixtures", "keys", "ed25519-pkcs8.pem")).read()}, "/anonymous/"),
        "sig_es256": sig["ES256"],
        "sig_eddsa": sig["EdDSA"],
        # POW=altcha: checking a solved payload at the default POW_COST (shape, HMAC, one
        # PBKDF2), and refusing a tampered one (shape and HMAC only).
        "pow_verify": per_check("verify"),
        "pow_tampered": per_check("tampered"),
    }
    budgets = {
        "hs256_limited": rows["hs256"] + 1000,
        "healthz": 1.2 * floor,
        "jwks_200": 1.3 * floor,
        "jwks_304": 1.3 * floor,
        "hs256": 1.8 * floor,
        "es256": 1.8 * floor + sig["ES256"],
        "eddsa": 1.8 * floor + sig["EdDSA"],
        # Refusing a forged payload (base64, JSON, one HMAC) costs at most two bare requests:
        # whoever sends one pays a request's worth of work for ours.
        "pow_tampered": 2 * floor,
    }
    print(f"instructions per request (callgrind, N={N2}-{N1}), {time.strftime('%Y-%m-%d')}")
    print(f"{'what':<12} {'instructions':>12} {'x floor':>8} {'budget':>10}  verdict")
    for name, value in rows.items():
        budget = budgets.get(name)
        verdict = "" if budget is None else ("met" if value <= budget else "NOT met")
        print(f"{name:<12} {value:>12,.0f} {value / floor:>8.2f} {'' if budget is None else f'{budget:,.0f}':>10}  {verdict}")

    if "--write" in sys.argv:
        with open(BASELINE, "w") as f:
            json.dump({k: round(v) for k, v in rows.items()}, f, indent=2)
            f.write("\n")
        print(f"wrote {BASELINE}")
    if "--check" in sys.argv:
        baseline = json.load(open(BASELINE))
        worse = [(k, v, baseline[k]) for k, v in rows.items()
                 if k in baseline and not k.startswith(("floor", "sig_")) and v > baseline[k] * (1 + TOLERANCE)]
        for k, v, b in worse:
            print(f"REGRESSION {k}: {v:,.0f} instructions per request against {b:,} committed (+{(v / b - 1) * 100:.1f} %)")
        if worse:
            sys.exit(1)
        print(f"no row grew by more than {TOLERANCE * 100:.0f} % against {os.path.relpath(BASELINE, ROOT)}")


if __name__ == "__main__":
    main()
