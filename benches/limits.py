"""Issuing limits under load, from one run (loopback only):

1. memory vs Redis: tokens/s and p99 latency of HS256 `/anonymous/` with limits on and never
   reached (`ISSUE_RATE=1000000/s`), counted in memory and in the local Redis, against limits
   off — `wrk -t1 -c64`, server pinned to core 0, wrk to core 1, interleaved rounds, medians;
2. many addresses: CLIENTS distinct client addresses from the loopback range (each connection
   bound to its own 127.x.y.z) take one token each; the server's resident memory before and
   after, bytes per tracked client, and the tracked-clients gauge (which must equal CLIENTS).

Usage: python3 benches/limits.py [ROUNDS=3] [SECONDS=4]     CLIENTS=20000 to change (2).
Needs wrk (apt) and Redis on 127.0.0.1:6379 for (1); (2) needs nothing else.
"""
import ipaddress
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BIN = os.path.join(ROOT, "target", "release", "cusdeb-anonymous")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
CLIENTS = int(os.environ.get("CLIENTS", 20000))
BASE = {"PATH": os.environ["PATH"], "ISSUE_DELAY": "0", "RUST_LOG": "warn", "HOST": "127.0.0.1",
        "SECRET_KEY": "a-limits-benchmark-secret-of-32-bytes+"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(env, core=None):
    port = free_port()
    cmd = ([] if core is None else ["taskset", "-c", str(core)]) + [BIN]
    p = subprocess.Popen(cmd, env={**BASE, **env, "PORT": str(port)}, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)  # Redis connected
    return p, port


def wrk(port):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{SECONDS}s", "--latency",
                          f"http://127.0.0.1:{port}/anonymous/"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert non2xx is None, f"limited during the benchmark: {out}"
    return rps, p99_ms


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def metric(port, name):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return float(re.search(rf"^{name} (\S+)$".encode(), data, re.M).group(1))


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], check=True, cwd=ROOT)
    subprocess.run(["redis-cli", "-n", "5", "FLUSHDB"], check=False, capture_output=True)
    limits = {"ISSUE_RATE": "1000000/s", "ISSUE_RATE_GLOBAL": "1000000/s"}
    setups = {
        "limits off": {},
        "memory": limits,
        "redis": {**limits, "LIMIT_STORE": "redis://127.0.0.1:6379/5"},
    }
    results = {name: [] for name in setups}
    for _ in range(ROUNDS):
        for name, env in setups.items():
            p, port = start(env, core=0)
            try:
                results[name].append(wrk(port))
            finally:
                p.terminate()
                p.wait()
    print(f"HS256 /anonymous/, wrk -t1 -c64 {SECONDS}s x {ROUNDS} rounds (medians), {time.strftime('%Y-%m-%d')}")
    off = statistics.median(r for r, _ in results["limits off"])
    for name, rows in results.items():
        rps = statistics.median(r for r, _ in rows)
        p99 = statistics.median(p for _, p in rows)
        print(f"  {name:<11} {rps:>10,.0f} tokens/s  {rps / off:>5.2f}x off   p99 {p99:.2f} ms")

    # Many addresses: one token each from CLIENTS addresses of 127.0.0.0/8.
    p, port = start({"ISSUE_RATE": "1/h"})
    try:
        before = rss_kib(p.pid)
        for i in range(CLIENTS):
            source = str(ipaddress.IPv4Address(0x7F010001 + i))  # 127.1.0.1 onwards
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
            assert head.startswith(b"HTTP/1.1 200"), head
            s.close()
        after = rss_kib(p.pid)
        tracked = metric(port, "cusdeb_anonymous_limit_tracked_clients")
    finally:
        p.terminate()
        p.wait()
    print(f"{CLIENTS:,} client addresses, one token each: {tracked:,.0f} tracked; resident "
          f"{before / 1024:.1f} -> {after / 1024:.1f} MiB ({(after - before) * 1024 / CLIENTS:.0f} bytes per client, "
          f"allocator slack included; examples/limiter_memory.rs measures 1,000,000 in-process)")


if __name__ == "__main__":
    main()
