"""Start-up benchmark: milliseconds from starting the release binary to its first /readyz 200,
per algorithm (median of RUNS starts; keys are generated in-process at start).

Usage: python3 benches/ready.py BINARY [RUNS=5] [ALG ...]
"""
import os
import socket
import statistics
import subprocess
import sys
import time

binary = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
algs = sys.argv[3:] or ["HS256", "ES256", "ES384", "EdDSA", "RS256", "PS256"]
BUDGET_MS = {"RS256": 1000, "PS256": 1000}  # RSA-2048; the rest: 50 ms


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def once(alg):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), "ALGO": alg,
           "RUST_LOG": "warn", "SECRET_KEY": "ready-benchmark-secret-ready-benchmark-secret"}
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 10:
            if ready(port):
                return (time.perf_counter() - start) * 1000
            time.sleep(0.0005)
        raise SystemExit(f"{alg}: not ready within 10 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


for alg in algs:
    ms = statistics.median(once(alg) for _ in range(runs))
    budget = BUDGET_MS.get(alg, 50)
    print(f"ready {alg:<6} {ms:7.1f} ms   budget < {budget} ms: {'met' if ms < budget else 'NOT met'}")
