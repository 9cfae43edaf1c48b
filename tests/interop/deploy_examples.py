"""The deployment examples, run as written: each one's environment goes through the real
binary's `check-config`, and the shutdown timings they promise add up.

Usage: deploy_examples.py BINARY   Prints one PASS/FAIL line per check.
"""
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

import yaml

BIN = sys.argv[1]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DEPLOY = os.path.join(ROOT, "examples", "deploy")


def check(name, fn):
    try:
        fn()
        print(f"PASS deploy {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - any failure is reported, none is fatal
        print(f"FAIL deploy {name}: {type(e).__name__}: {e}", flush=True)


def check_config(env):
    out = subprocess.run([BIN, "check-config"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, f"check-config exited {out.returncode}: {out.stderr.strip()}"
    return out.stdout


def kubernetes(name):
    docs = list(yaml.safe_load_all(open(os.path.join(DEPLOY, name))))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {"PATH": os.environ["PATH"]}
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in docs if d["kind"] == "Secret"}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    with tempfile.TemporaryDirectory() as root:
        # Materialise every mounted Secret and volume under a temporary root, as the kubelet would.
        for name, path in mounts.items():
            os.makedirs(root + path, exist_ok=True)
            if "secret" in volumes[name]:
                for key, value in secrets[volumes[name]["secret"]["secretName"]].items():
                    open(os.path.join(root + path, key), "w").write(value)
        for item in container["env"]:
            if "valueFrom" in item:
                ref = item["valueFrom"]["secretKeyRef"]
                value = secrets[ref["name"]][ref["key"]]
            else:
                value = item["value"]
            if item["name"].endswith("_FILE") or value.startswith("file:/"):
                value = value.replace("file:/", "file:" + root + "/") if value.startswith("file:") else root + value
            env[item["name"]] = value
        store = env.get("KEY_STORE", "memory")
        if store.startswith("postgres"):
            # check-config opens the store for real: the manifest's database is not here, this
            # machine's is (its TLS is verified in the cluster: the URL must say so).
            assert "sslmode=verify-full" in store, "the manifest's database URL does not verify TLS"
            env["KEY_STORE"] = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        limit_store = env.get("LIMIT_STORE", "memory")
        if limit_store.startswith("redis"):
            # check-config parses the URL and does not connect (the service connects in the
            # background); across a network the manifest's Redis must be TLS.
            assert limit_store.startswith("rediss://"), "the manifest's Redis URL does not use TLS"
        text = check_config(env)
        assert "key store:" in text or store == "memory", f"check-config did not open the store:\n{text}"
        if env.get("POW") == "altcha":
            assert "altcha" in text, f"check-config does not describe the gate:\n{text}"
        for values in secrets.values():
            for key, value in values.items():
                secret = urllib.parse.urlsplit(value).password if "://" in value else value
                assert not secret or secret not in text, f"check-config shows the secret {key}"
        if store.startswith("file:"):
            # The file store opens for real: run the keys command against the volume.
            out = subprocess.run([BIN, "keys", "list"], env=env, capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, f"keys list on the volume: {out.stderr.strip()}"
    assert "warning" not in text, f"the manifest's configuration warns:\n{text}"
    delay = float(env.get("ISSUE_DELAY", "5"))
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert pre_stop + delay + 10 <= grace, f"preStop {pre_stop} + drain {delay + 10} > grace {grace}"
    probes = (container["readinessProbe"]["httpGet"]["path"], container["livenessProbe"]["httpGet"]["path"])
    assert probes == ("/readyz", "/healthz"), probes


def systemd():
    unit = open(os.path.join(DEPLOY, "cusdeb-anonymous.service")).read()
    with tempfile.TemporaryDirectory() as creds:
        env = {"PATH": os.environ["PATH"]}
        for line in unit.splitlines():
            if line.startswith("LoadCredential="):
                name, _source = line.split("=", 1)[1].split(":", 1)
                open(os.path.join(creds, name), "w").write("a-credential-secret-of-at-least-32-bytes-for-hs256\n")
            if line.startswith("Environment="):
                for assignment in line.split("=", 1)[1].split():
                    key, value = assignment.split("=", 1)
                    env[key] = value.replace("%d", creds)
        text = check_config(env)
    assert "warning" not in text, f"the unit's configuration warns:\n{text}"
    assert re.search(r"^ExecStartPre=\S+ check-config$", unit, re.M), "no check-config before start"
    stop = int(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1))
    delay = float(env.get("ISSUE_DELAY", "5"))
    assert delay + 10 <= stop, f"drain {delay + 10} s > TimeoutStopSec {stop}"


check("kubernetes.yaml passes check-config, its shutdown fits", lambda: kubernetes("kubernetes.yaml"))
check("kubernetes-postgres.yaml passes check-config, its shutdown fits", lambda: kubernetes("kubernetes-postgres.yaml"))
check("cusdeb-anonymous.service passes check-config, its shutdown fits", systemd)
