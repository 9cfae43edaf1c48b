"""Robustness from outside, against the real binary (started and stopped here, by PID):
garbage bytes, oversized request lines and headers, clients that never finish their headers,
2,000 concurrent delayed requests (RSS growth reported), SIGTERM during delayed requests.

Usage: robustness.py BINARY. Prints one PASS/FAIL line per check.
"""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

BINARY = sys.argv[1]


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} robustness {name}{': ' + detail if detail else ''}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(**env):
    port = free_port()
    full = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port),
            "SECRET_KEY": "robustness-secret-robustness-secret-robustness", "RUST_LOG": "warn"}
    full.update({k: str(v) for k, v in env.items()})
    proc = subprocess.Popen([BINARY], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
            return proc, port
        except Exception:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not become ready")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raw(port, payload, timeout=5.0):
    """Sends raw bytes, returns the first bytes of the answer ('' if the server closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(payload)
        except OSError:
            pass
        try:
            return s.recv(64).decode("latin-1")
        except (ConnectionResetError, socket.timeout):
            return ""


def healthy(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return r.status == 200


async def get(port, path="/anonymous/"):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.split(b"\r\n", 1)[0].decode()


async def many(port, n):
    return await asyncio.gather(*(get(port) for _ in range(n)), return_exceptions=True)


def main():
    proc, port = start(ISSUE_DELAY=0)
    try:
        for name, payload in [
            ("garbage bytes", os.urandom(4096)),
            ("binary junk request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200 + b"\r\n\r\n"),
            ("oversized request line (1 MiB URI)", b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("oversized header (1 MiB)", b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n"),
            ("10,000 headers", b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\n" + b"X-H: v\r\n" * 10000 + b"\r\n"),
        ]:
            answer = raw(port, payload)
            ok = (answer == "" or answer.startswith("HTTP/1.1 4")) and healthy(port)
            check(name, ok, f"answered {answer[:20]!r}")

        stalled = []
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /anonymous/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(s)
        t = time.monotonic()
        ok = healthy(port)
        took = time.monotonic() - t
        check("200 clients that never finish their headers", ok and took < 1.0, f"/healthz answered in {took * 1000:.0f} ms")
        for s in stalled:
            s.close()
    finally:
        stop(proc)

    proc, port = start(ISSUE_DELAY=1, MAX_PENDING=10000)
    try:
        before = rss_kib(proc.pid)
        t = time.monotonic()
        results = asyncio.run(many(port, 2000))
        took = time.monotonic() - t
        after = rss_kib(proc.pid)
        ok = sum(1 for r in results if r == "HTTP/1.1 200 OK")
        check("2,000 concurrent delayed requests all 200", ok == 2000,
              f"{ok}/2000 in {took:.2f} s; RSS {before} -> {after} KiB "
              f"({(after - before) * 1024 / 2000:.0f} bytes per request)")
    finally:
        stop(proc)

    proc, port = start(ISSUE_DELAY=2)

    async def drain():
        tasks = [asyncio.create_task(get(port)) for _ in range(100)]
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(drain())
    code = proc.wait(timeout=30)
    ok = sum(1 for r in results if r == "HTTP/1.1 200 OK")
    check("SIGTERM during 100 delayed requests: all answered, exit 0", ok == 100 and code == 0, f"{ok}/100, exit {code}")


main()
