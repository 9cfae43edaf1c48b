#!/usr/bin/env bash
# Load benchmark (issue "Fast, and proven fast"): the release server pinned to core 0, wrk
# pinned to core 1, ISSUE_DELAY=0. Drives the bare poem handler (../shared/bench/floor: the
# floor), /healthz, /anonymous/ per algorithm and the JWKS (200 and 304), interleaved over
# ROUNDS rounds, and prints medians with two ratios — against the bare floor and against our
# own /healthz — and the budgets, with ideal(alg) = 1/(1/floor + one bare ring signature timed
# on core 0 in each round). Then benches/process.py: start-up time to /readyz, and HELD requests held on
# ISSUE_DELAY.
#
# Usage: benches/load.sh [ROUNDS=3] [SECONDS=4]      (installs wrk with apt-get if missing)
#   HELD=10000     requests held at once on a 5 s ISSUE_DELAY
#   HALT_POLL=1    then, on a KVM guest with the haltpoll cpuidle driver, one more round with
#                  idle CPUs polling 200 µs before they halt (restored on exit). On loopback
#                  the server's send wakes the load generator; when wrk's vCPU has halted,
#                  that wake-up (an IPI, a VM exit) costs the server microseconds per
#                  response — a cost a client on another machine never charges it. The extra
#                  round shows how much of a gap is that. 0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-4}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
bin=target/release/cusdeb-anonymous
bare=
if [ -f ../shared/bench/floor/Cargo.toml ]; then
  cargo build --release --quiet --manifest-path ../shared/bench/floor/Cargo.toml --target-dir target/floor
  bare=target/floor/release/floor
else
  echo "no ../shared/bench/floor: ratios against /healthz only" >&2
fi
out=$(mktemp -d)
pids=()
halt_poll=/sys/module/haltpoll/parameters/guest_halt_poll_ns
halt_poll_was=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$halt_poll_was" ]; then echo "$halt_poll_was" >"$halt_poll"; fi
}
trap cleanup EXIT

cargo bench --quiet --bench mint --no-run 2>/dev/null

declare -A port
start() {  # start NAME ALGO
  local p=$((20000 + ${#pids[@]}))
  env -i PATH="$PATH" HOST=127.0.0.1 PORT=$p ISSUE_DELAY=0 ALGO="$2" RUST_LOG=warn \
    SECRET_KEY=load-test-secret-load-test-secret-0123456789 taskset -c 0 "$bin" 2>/dev/null &
  pids+=($!)
  port[$1]=$p
}
algs=(HS256 ES256 EdDSA RS256 PS256 ES384)
for alg in "${algs[@]}"; do start "$alg" "$alg"; done
if [ -n "$bare" ]; then
  port[bare]=$((20000 + ${#pids[@]}))
  env -i PATH="$PATH" HOST=127.0.0.1 PORT=${port[bare]} taskset -c 0 "$bare" 2>/dev/null &
  pids+=($!)
fi
for name in "${!port[@]}"; do
  path=/readyz; [ "$name" = bare ] && path=/anonymous/
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:${port[$name]}$path" && break; sleep 0.1; done
done
etag=$(curl -sI "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')

run() {  # run LABEL URL [HEADER]: one wrk run, appends "LABEL rps p99_ms" to $out/runs
  local label=$1 url=$2 header=${3:-}
  local args=(-t1 -c64 -d"${secs}s" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  local text; text=$(taskset -c 1 wrk "${args[@]}" "$url")
  if grep -q "Non-2xx" <<<"$text"; then echo "$label: non-2xx answers:"; echo "$text"; exit 1; fi
  local rps; rps=$(awk '/Requests\/sec/{print $2}' <<<"$text")
  local p99; p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$text")
  echo "$label $rps $p99" >>"$out/runs"
}
round() {  # one round: bare signatures, floor, each algorithm, JWKS 200 and 304
  SIGN_TABLE=1 taskset -c 0 cargo bench --quiet --bench mint 2>/dev/null >>"$out/sign"
  if [ -n "$bare" ]; then run bare "http://127.0.0.1:${port[bare]}/anonymous/"; fi
  run healthz "http://127.0.0.1:${port[HS256]}/healthz"
  for alg in "${algs[@]}"; do run "$alg" "http://127.0.0.1:${port[$alg]}/anonymous/"; done
  run jwks200 "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json"
  run jwks304 "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json" "If-None-Match: $etag"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  round
done
mv "$out/runs" "$out/main"
if [ "${HALT_POLL:-1}" = 1 ] && [ -w "$halt_poll" ]; then
  halt_poll_was=$(cat "$halt_poll")
  echo 200000 >"$halt_poll"
  echo "one round with guest halt-polling" >&2
  round
  mv "$out/runs" "$out/polling"
  echo "$halt_poll_was" >"$halt_poll"
  halt_poll_was=
fi

python3 - "$out" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" <<'PY'
import os, statistics, sys
out, when, machine = sys.argv[1:]
signs = {}
for line in open(f"{out}/sign"):
    alg, ns = line.split()
    signs.setdefault(alg, []).append(float(ns) * 1e-9)
sign = {alg: statistics.median(v) for alg, v in signs.items()}

def medians(path):
    rows = {}
    for line in open(path):
        label, rps, p99 = line.split()
        rows.setdefault(label, []).append((float(rps), float(p99)))
    return {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v), len(v)) for k, v in rows.items()}

def table(med, title, ideal_floor=None):
    healthz = med["healthz"][0]
    floor, floor_p99, n = med.get("bare", med["healthz"])
    ideal_floor = ideal_floor or floor
    print(f"\n{title} ({n} run(s) of each; medians; floor = {'bare poem handler' if 'bare' in med else '/healthz'})")
    print(f"{'what':<13} {'req/s':>9} {'p99 ms':>7} {'ideal':>9} {'ratio':>6} {'x bare':>6} {'x hlth':>6}  budget")
    verdicts = []
    def row(what, rps, p99, ideal, ratio, budget, ok):
        verdicts.append(ok)
        flag = "" if ok is None else ("met" if ok else "NOT met")
        ideal_s = f"{ideal:9.0f}" if ideal else " " * 9
        ratio_s = f"{ratio:6.2f}" if ratio is not None else " " * 6
        print(f"{what:<13} {rps:9.0f} {p99:7.2f} {ideal_s} {ratio_s} {rps / floor:6.2f} {rps / healthz:6.2f}  {budget} {flag}")
    row("floor", floor, floor_p99, None, None, "(bare poem handler)" if "bare" in med else "(/healthz)", None)
    if "bare" in med:
        h, h_p99, _ = med["healthz"]
        row("healthz", h, h_p99, None, h / floor, "", None)
    hs, hs_p99, _ = med["HS256"]
    row("HS256", hs, hs_p99, None, hs / floor, ">= 0.90 x floor", hs / floor >= 0.9)
    for alg in ("ES256", "EdDSA", "RS256", "PS256", "ES384"):
        rps, p99, _ = med[alg]
        ideal = 1 / (1 / ideal_floor + sign[alg])
        row(alg, rps, p99, ideal, rps / ideal, f">= 0.90 x ideal (sig {sign[alg] * 1e6:.1f} us)", rps / ideal >= 0.9)
    for k in ("jwks200", "jwks304"):
        rps, p99, _ = med[k]
        row(k, rps, p99, None, rps / floor, ">= 0.90 x floor", rps / floor >= 0.9)
    print(f"{'p99 HS256':<13} {'':>9} {hs_p99:7.2f} {'':>9} {hs_p99 / floor_p99:6.2f}  <= 2 x floor p99 "
          f"{'met' if hs_p99 <= 2 * floor_p99 else 'NOT met'}")
    return verdicts

print(f"# load.sh {when}; {machine}; server on core 0, wrk -t1 -c64 on core 1; ISSUE_DELAY=0")
print("# bare ring signature, median of " + str(len(signs["ES256"])) + " timings on core 0: "
      + ", ".join(f"{a} {s * 1e6:.1f} us" for a, s in sign.items()))
main = medians(f"{out}/main")
table(main, "Budgets")
if os.path.exists(f"{out}/polling"):
    table(medians(f"{out}/polling"),
          "Diagnostic: idle CPUs halt-poll 200 us (no IPI to wake wrk); ideal(alg) from the floor above",
          ideal_floor=main.get("bare", main["healthz"])[0])
PY

echo
python3 benches/process.py "$bin" "${HELD:-10000}" 5
