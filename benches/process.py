"""Process-level benchmarks against the release binary:

- start-up: milliseconds from starting the binary to its first /readyz 200, per algorithm
  (median of RUNS starts; keys are generated in-process at start), and with a static PEM key
  in SECRET_KEY (nothing generated: parsed and checked at start);
- held requests: N requests waiting on ISSUE_DELAY at once; how many were answered 200 and the
  server's RSS growth per held request (/proc).

Usage: python3 benches/process.py BINARY [N=10000] [DELAY=5] [RUNS=5]   (STARTUP_ONLY=1: start-up only)
"""
import asyncio
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

binary = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
delay = sys.argv[3] if len(sys.argv) > 3 else "5"
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
READY_BUDGET_MS = {"RS256": 1000, "PS256": 1000}  # RSA-2048; the rest: 50 ms
HELD_BUDGET_BYTES = 5 * 1024
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def start(**env):
    """Starts the binary on a free loopback port; returns (process, port, start time)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), "RUST_LOG": "warn",
            "SECRET_KEY": "process-benchmark-secret-process-benchmark-secret"}
    full.update({k: v for k, v in os.environ.items() if k.startswith("MALLOC_")})
    full.update(env)
    started = time.perf_counter()
    return subprocess.Popen([binary], env=full, stderr=subprocess.DEVNULL), port, started


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def wait_ready(port, started):
    """Milliseconds from `started` to the first /readyz 200 (polling every 0.5 ms, 10 s at most)."""
    while time.perf_counter() - started < 10:
        if ready(port):
            return (time.perf_counter() - started) * 1000
        time.sleep(0.0005)
    raise SystemExit(f"server on port {port} not ready within 10 s")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def startup_ms(alg, **env):
    proc, port, started = start(ALGO=alg, **env)
    try:
        return wait_ready(port, started)
    finally:
        stop(proc)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


async def held(port, pid):
    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        data = await reader.read()
        writer.close()
        return data.startswith(b"HTTP/1.1 200")

    before = rss_kib(pid)
    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.sleep(float(delay) * 0.8)  # all connected and waiting
    peak = rss_kib(pid)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return sum(1 for r in results if r is True), before, peak


for alg in ["HS256", "ES256", "ES384", "EdDSA", "RS256", "PS256"]:
    ms = statistics.median(startup_ms(alg) for _ in range(runs))
    budget = READY_BUDGET_MS.get(alg, 50)
    print(f"ready {alg:<6} {ms:7.1f} ms   budget < {budget} ms: {'met' if ms < budget else 'NOT met'}")

KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "keys")
for alg, key in [("RS256", "rsa2048-pkcs1"), ("ES256", "p256-sec1")]:
    pem = open(os.path.join(KEYS, key + ".pem")).read()
    ms = statistics.median(startup_ms(alg, SECRET_KEY=pem) for _ in range(runs))
    print(f"ready {alg:<6} {ms:7.1f} ms   static key {key}.pem   budget < 50 ms: {'met' if ms < 50 else 'NOT met'}")

if os.environ.get("STARTUP_ONLY"):
    sys.exit(0)
proc, port, started = start(ISSUE_DELAY=delay, MAX_PENDING=str(n))
wait_ready(port, started)
ok, before, peak = asyncio.run(held(port, proc.pid))
stop(proc)
each = (peak - before) * 1024 / n
met = ok == n and each <= HELD_BUDGET_BYTES
print(f"held {n} requests for {delay} s: {ok} answered 200; RSS {before} -> {peak} KiB, "
      f"{each:.0f} bytes per held request   budget all 200, <= {HELD_BUDGET_BYTES} B: {'met' if met else 'NOT met'}")
