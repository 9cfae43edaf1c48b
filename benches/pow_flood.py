"""The proof-of-work gate under a flood of wrong solutions (loopback only).

A wrong solution to a fresh challenge is the one request that costs the gate a key derivation
without buying anything; at most half the cores derive at once, so a flood of them queues
behind itself while the other half serves. This measures, in one run with interleaved rounds
(medians):

1. the JWKS (what verifiers need) — `wrk -t1 -c16` requests/s alone, and during the flood;
2. the flood itself — wrong solutions checked per second (the server's own counter);
3. an honest visitor during the flood — how long `GET /anonymous/` with a valid solution takes
   (its check waits for a derivation slot), against the same with no flood.

The flood is FLOODERS threads, each in a loop: get a challenge, send a payload whose derived
key claims the prefix (so the check must derive), get the 403.

Usage: python3 benches/pow_flood.py [ROUNDS=3] [SECONDS=5]    (after `cargo build --release`)
  FLOODERS=16, POW_COST=1200 to change; BIN=path to measure another build.
Needs wrk (apt).
"""
import base64
import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.environ.get("BIN", os.path.join(ROOT, "target", "release", "cusdeb-anonymous"))
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
FLOODERS = int(os.environ.get("FLOODERS", 16))
COST = os.environ.get("POW_COST", "1200")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def payload(challenge, counter, derived_key):
    solution = {"counter": counter, "derivedKey": derived_key, "time": 1.0}
    return base64.b64encode(json.dumps({"challenge": challenge, "solution": solution}).encode()).decode()


def solved(base):
    """A fresh challenge, honestly solved (hashlib's PBKDF2: C, about a second)."""
    challenge = json.loads(get(f"{base}/anonymous/challenge")[1])
    p = challenge["parameters"]
    nonce, salt = bytes.fromhex(p["nonce"]), bytes.fromhex(p["salt"])
    for counter in range(1_000_000):
        key = hashlib.pbkdf2_hmac("sha256", nonce + counter.to_bytes(4, "big"), salt, p["cost"], 32).hex()
        if key.startswith(p["keyPrefix"]):
            return payload(challenge, counter, key)
    raise SystemExit("no solution in a million counters")


def flooder(base, stop):
    while not stop.is_set():
        challenge = json.loads(get(f"{base}/anonymous/challenge")[1])
        wrong = payload(challenge, 0, challenge["parameters"]["keyPrefix"].ljust(64, "0"))
        status, _ = get(f"{base}/anonymous/", {"Altcha": wrong})
        assert status == 403, status


def wrk(base):
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{SECONDS}s", f"{base}/.well-known/jwks.json"],
                         capture_output=True, text=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def wrong_checked(base):
    text = get(f"{base}/metrics")[1].decode()
    return float(re.search(r'^cusdeb_anonymous_pow_solutions_total\{outcome="bad"\} (\S+)', text, re.M).group(1))


def honest(base, ready):
    """Seconds for one token request with a valid solution."""
    started = time.perf_counter()
    status, _ = get(f"{base}/anonymous/", {"Altcha": ready})
    assert status == 200, status
    return time.perf_counter() - started


def main():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), "ALGO": "ES256",
           "ISSUE_DELAY": "0", "RUST_LOG": "error", "POW": "altcha", "POW_COST": COST, "POW_TTL": "3600",
           "POW_HMAC_KEY": "a-flood-benchmark-key-of-at-least-32-bytes"}
    server = subprocess.Popen([BIN], env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        ready = [solved(base) for _ in range(2 * ROUNDS)]
        calm, flooded, rates, honest_calm, honest_flooded = [], [], [], [], []
        for _ in range(ROUNDS):
            calm.append(wrk(base))
            honest_calm.append(honest(base, ready.pop()))
            stop = threading.Event()
            threads = [threading.Thread(target=flooder, args=(base, stop)) for _ in range(FLOODERS)]
            for t in threads:
                t.start()
            time.sleep(1)  # the flood under way
            before, started = wrong_checked(base), time.perf_counter()
            flooded.append(wrk(base))
            honest_flooded.append(honest(base, ready.pop()))
            rates.append((wrong_checked(base) - before) / (time.perf_counter() - started))
            stop.set()
            for t in threads:
                t.join(30)
        med = statistics.median
        print(f"binary {BIN}; POW_COST={COST}; {FLOODERS} flooders; {ROUNDS} rounds of {SECONDS} s; medians")
        print(f"JWKS alone            {med(calm):10.0f} req/s")
        print(f"JWKS during the flood {med(flooded):10.0f} req/s  ({med(flooded) / med(calm):.2f} of alone)")
        print(f"wrong solutions checked during the flood {med(rates):.0f}/s")
        print(f"an honest token request: {med(honest_calm) * 1000:.1f} ms alone, "
              f"{med(honest_flooded) * 1000:.1f} ms during the flood")
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
