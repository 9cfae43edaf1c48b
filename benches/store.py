"""Key-store measurements against the release binary and the local PostgreSQL:

- ready after a restart: milliseconds from starting the binary to its first /readyz 200 when the
  store already holds the keys (RS256-2048; file store and PostgreSQL), median of RUNS;
- sync cost: CPU time per read of the shared store, from an idle replica syncing every 0.1 s;
- rotation skew: three replicas on one database rotating every 4 s; for each new kid, the spread
  between the first token each replica signed with it (polled every few milliseconds).

Usage: python3 benches/store.py BINARY [RUNS=5]   (needs psql and PostgreSQL on 127.0.0.1:5432;
TEST_DATABASE_URL's server if set)
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

binary = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
server = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
base = server.rsplit("/", 1)[0]
KEK = subprocess.run([binary, "keys", "new-encryption-key"], capture_output=True, text=True, check=True).stdout.strip()


def database(name):
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", server, "-qc", sql], check=True, capture_output=True)
    return f"{base}/{name}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(**env):
    port = free_port()
    full = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), "ISSUE_DELAY": "0",
            "RUST_LOG": "warn", "KEY_ENCRYPTION_KEY": KEK, **env}
    return subprocess.Popen([binary], env=full, stderr=subprocess.DEVNULL), port, time.perf_counter()


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.read().decode()


def ready_ms(port, started, limit=30):
    while time.perf_counter() - started < limit:
        try:
            if get(port, "/readyz")[0] == 200:
                return (time.perf_counter() - started) * 1000
        except OSError:
            pass
        time.sleep(0.0005)
    raise SystemExit(f"not ready within {limit} s")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def restart_ready(store):
    proc, port, started = start(ALGO="RS256", KEY_STORE=store)
    first = ready_ms(port, started)
    stop(proc)
    times = []
    for _ in range(runs):
        proc, port, started = start(ALGO="RS256", KEY_STORE=store)
        times.append(ready_ms(port, started))
        stop(proc)
    return first, statistics.median(times)


with tempfile.TemporaryDirectory() as tmp:
    first, again = restart_ready(f"file:{tmp}/keys.json")
    print(f"ready, RS256, file store:  {first:7.1f} ms empty (key generated)   {again:7.1f} ms after a restart (median of {runs})")
first, again = restart_ready(database("bench_restart"))
print(f"ready, RS256, PostgreSQL:  {first:7.1f} ms empty (key generated)   {again:7.1f} ms after a restart (median of {runs})")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


url = database("bench_sync")
proc, port, started = start(ALGO="ES256", KEY_STORE=url, KEY_STORE_SYNC_INTERVAL="0.1", JWKS_MAX_AGE="1",
                            KEY_ROTATION_INTERVAL="3600")
ready_ms(port, started)
time.sleep(1)
before, t0 = cpu_seconds(proc.pid), time.perf_counter()
time.sleep(20)
used, elapsed = cpu_seconds(proc.pid) - before, time.perf_counter() - t0
stop(proc)
syncs = elapsed / 0.1
print(f"sync cost: {used * 1000 / syncs:.2f} ms CPU per read of the ring ({syncs:.0f} reads in {elapsed:.0f} s, "
      f"{used * 100 / elapsed:.1f} % of a core at KEY_STORE_SYNC_INTERVAL=0.1)")

url = database("bench_skew")
env = dict(ALGO="ES256", KEY_STORE=url, KEY_ROTATION_INTERVAL="4", JWKS_MAX_AGE="1", KEY_STORE_SYNC_INTERVAL="0.5",
           TOKEN_TTL="1", CLOCK_LEEWAY="1")
replicas = [start(**env) for _ in range(3)]
for proc, port, started in replicas:
    ready_ms(port, started)
first_seen = {}
end = time.perf_counter() + 14
while time.perf_counter() < end:
    for i, (_, port, _) in enumerate(replicas):
        token = get(port, "/anonymous/")[1]
        header = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "=="))
        first_seen.setdefault(header["kid"], {}).setdefault(i, time.perf_counter())
for proc, _, _ in replicas:
    stop(proc)
spreads = [max(seen.values()) - min(seen.values()) for seen in first_seen.values() if len(seen) == 3]
print(f"rotation skew: {len(first_seen)} kids signed; first use spread across 3 replicas: "
      f"max {max(spreads) * 1000:.1f} ms, median {statistics.median(spreads) * 1000:.1f} ms "
      f"(polling resolution: one round of 3 requests)")
