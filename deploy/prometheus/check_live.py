"""Every alert expression and every dashboard query, checked against a real Prometheus.

Starts the release binary (ES256 on a file store, limits on), sends it some traffic, starts
Debian's Prometheus scraping it every second, waits for scrapes, then evaluates each expression
through Prometheus' HTTP API. An expression fails if Prometheus refuses it (a parse error) or
if it names a `cusdeb_anonymous_*` series the service does not export. Prints one line per
expression and ends with `N passed, N failed`; exits 1 on any failure.

Usage: python3 deploy/prometheus/check_live.py    (after `cargo build --release`)
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
BIN = os.path.join(ROOT, "target", "release", "cusdeb-anonymous")
PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


def wait(url, seconds=30):
    for _ in range(seconds * 10):
        try:
            get(url)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered")


def expressions():
    """(where, expression) for every alert and every dashboard target."""
    out = []
    for group in yaml.safe_load(open(os.path.join(HERE, "alerts.yml")))["groups"]:
        for rule in group["rules"]:
            out.append((f"alert {rule['alert']}", rule["expr"]))
    dashboard = json.load(open(os.path.join(HERE, "..", "grafana", "cusdeb-anonymous.json")))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            out.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            match = re.match(r"label_values\((\w+),", var["definition"])
            out.append((f"variable {var['name']}", match.group(1)))
    return out


def grafana_to_promql(expr):
    """The dashboard's variables as Grafana would fill them in."""
    return expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')


def main():
    tmp = tempfile.mkdtemp(prefix="cusdeb-prom-")
    port, prom_port = free_port(), free_port()
    env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), "ALGO": "ES256",
           "ISSUE_DELAY": "0", "RUST_LOG": "warn", "KEY_STORE": f"file:{tmp}/keys.json",
           "ISSUE_RATE": "5/min", "TRUSTED_PROXIES": "127.0.0.1"}
    server = subprocess.Popen([BIN], env=env, stderr=subprocess.DEVNULL)
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                        "scrape_configs": [{"job_name": "cusdeb-anonymous",
                                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}, f)
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    passed = failed = 0
    try:
        base = f"http://127.0.0.1:{port}"
        wait(f"{base}/healthz")
        # Traffic: tokens (some limited), the JWKS twice, a 404.
        for i in range(8):
            req = urllib.request.Request(f"{base}/anonymous/", headers={"X-Forwarded-For": "198.51.100.7"})
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except urllib.error.HTTPError:
                pass
        for path in ("/.well-known/jwks.json", "/.well-known/jwks.json", "/nowhere"):
            try:
                get(base + path)
            except urllib.error.HTTPError:
                pass
        api = f"http://127.0.0.1:{prom_port}/api/v1"
        wait(f"{api}/status/buildinfo")
        for _ in range(300):  # scraped a few times, so that rate() has two points
            status, body = get(f"{api}/query?query=" + urllib.parse.quote("count_over_time(up[1m])"))
            result = json.loads(body)["data"]["result"]
            if result and float(result[0]["value"][1]) >= 5:
                break
            time.sleep(0.2)
        _, body = get(f"{api}/label/__name__/values")
        exported = {n for n in json.loads(body)["data"] if n.startswith("cusdeb_anonymous_")}
        print(f"   Prometheus scraped {len(exported)} cusdeb_anonymous_* series names")
        for where, expr in expressions():
            promql = grafana_to_promql(expr)
            problems = []
            try:
                status, body = get(f"{api}/query?query=" + urllib.parse.quote(promql))
                if json.loads(body)["status"] != "success":
                    problems.append(body.decode()[:200])
            except urllib.error.HTTPError as e:
                problems.append(f"refused: {e.read().decode()[:200]}")
            missing = sorted(set(re.findall(r"cusdeb_anonymous_\w+", promql)) - exported)
            if missing:
                problems.append(f"not exported: {', '.join(missing)}")
            if problems:
                failed += 1
                print(f"FAIL prometheus {where}: {'; '.join(problems)}")
            else:
                passed += 1
                print(f"PASS prometheus {where}")
    finally:
        for p in (prom, server):
            p.terminate()
            p.wait(30)
        subprocess.run(["rm", "-rf", tmp])
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
