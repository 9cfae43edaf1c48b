#!/usr/bin/env bash
# Load benchmark: the release server pinned to core 0, wrk pinned to core 1, ISSUE_DELAY=0.
# Drives /healthz (the floor), /anonymous/ per algorithm and the JWKS (200 and 304),
# interleaved over ROUNDS rounds, and prints medians with ratios to the floor.
# Then holds HELD (default 10,000) requests on ISSUE_DELAY and reports RSS per held request.
# Usage: benches/load.sh [ROUNDS=3] [SECONDS=5]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
bin=target/release/cusdeb-anonymous
out=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT

declare -A port
start() {  # start NAME ALGO
  local p=$((20000 + ${#pids[@]}))
  env -i PATH="$PATH" HOST=127.0.0.1 PORT=$p ISSUE_DELAY=0 ALGO="$2" RUST_LOG=warn \
    SECRET_KEY=load-test-secret-load-test-secret-0123456789 taskset -c 0 "$bin" 2>/dev/null &
  pids+=($!)
  port[$1]=$p
}
for alg in HS256 ES256 EdDSA RS256 PS256 ES384; do start "$alg" "$alg"; done
for name in "${!port[@]}"; do
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:${port[$name]}/readyz" && break; sleep 0.1; done
done
etag=$(curl -sI "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')

run() {  # run LABEL URL [HEADER]: one wrk run, appends "LABEL rps p99_ms"
  local label=$1 url=$2 header=${3:-}
  local args=(-t1 -c64 -d"${secs}s" --latency)
  [ -n "$header" ] && args+=(-H "$header")
  local text; text=$(taskset -c 1 wrk "${args[@]}" "$url")
  local rps; rps=$(awk '/Requests\/sec/{print $2}' <<<"$text")
  local p99; p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' <<<"$text")
  echo "$label $rps $p99" >>"$out/runs"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds" >&2
  run floor "http://127.0.0.1:${port[HS256]}/healthz"
  for alg in HS256 ES256 EdDSA RS256 PS256 ES384; do run "$alg" "http://127.0.0.1:${port[$alg]}/anonymous/"; done
  run jwks200 "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json"
  run jwks304 "http://127.0.0.1:${port[ES256]}/.well-known/jwks.json" "If-None-Match: $etag"
done

python3 - "$out/runs" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, rps, p99 = line.split()
    rows.setdefault(label, []).append((float(rps), float(p99)))
med = {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v)) for k, v in rows.items()}
floor = med["floor"][0]
print(f"{'what':<10} {'req/s (median)':>15} {'p99 ms':>8} {'/ floor':>8}")
for k, (rps, p99) in med.items():
    print(f"{k:<10} {rps:>15.0f} {p99:>8.2f} {rps / floor:>8.2f}")
print("ideal(alg) = 1/(1/floor + one ring signature): compare with `cargo bench --bench mint`.")
PY

echo "held requests (ISSUE_DELAY=5, server unpinned):"
python3 benches/held.py "$bin" "${HELD:-10000}" 5
