"""Held-request benchmark: N requests waiting on ISSUE_DELAY at once against the release binary;
reports how many were answered 200 and the server's RSS growth per held request (/proc).

Usage: python3 benches/held.py BINARY [N=10000] [DELAY=5]
"""
import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request

binary = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
delay = sys.argv[3] if len(sys.argv) > 3 else "5"
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), "ISSUE_DELAY": delay,
       "MAX_PENDING": str(n), "RUST_LOG": "warn", "SECRET_KEY": "held-benchmark-secret-held-benchmark-secret"}
env.update({k: v for k, v in os.environ.items() if k.startswith("MALLOC_")})
proc = subprocess.Popen([binary], env=env, stderr=subprocess.DEVNULL)
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
        break
    except Exception:
        time.sleep(0.05)


def rss_kib():
    with open(f"/proc/{proc.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


async def one():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.startswith(b"HTTP/1.1 200")


async def main():
    before = rss_kib()
    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.sleep(float(delay) * 0.8)  # all connected and waiting
    peak = rss_kib()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    each = (peak - before) * 1024 / n
    met = ok == n and each <= 5 * 1024
    print(f"held {n} requests for {delay} s: {ok} answered 200; RSS {before} -> {peak} KiB, "
          f"{each:.0f} bytes per held request   budget all 200, <= 5120 B: {'met' if met else 'NOT met'}")


asyncio.run(main())
proc.send_signal(signal.SIGTERM)
proc.wait(timeout=30)
