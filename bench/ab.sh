#!/usr/bin/env bash
# A/B of two builds of one benchmark program, interleaved: A, B, A, B, ... so that
# the machine's drift (these 2-core machines are noisy) falls on both alike. Each
# program prints bench/'s JSON lines; the table gives each metric's median per side,
# B/A, and every run's value.
#
#   bench/ab.sh ROUNDS BIN_A BIN_B
#
# E.g. the process pool before and after a change: build bench_process_pool_cfutures
# (Release, -DCFUTURES_BUILD_BENCHMARKS=ON) in two trees, then
#   bench/ab.sh 10 old/build/bench/bin/bench_process_pool_cfutures build/bench/bin/bench_process_pool_cfutures
set -euo pipefail

if [ $# -ne 3 ]; then
  sed -n '7p' "$0" >&2
  exit 2
fi
rounds=$1
a=$2
b=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a
    [ "$side" = B ] && bin=$b
    "$bin" 2>/dev/null | sed "s/^/$side /" >>"$out"
  done
done
python3 - "$out" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, _, text = line.partition(" ")
    try:
        r = json.loads(text)
    except ValueError:
        continue
    runs[(r["workload"], r["metric"], r["unit"]), side].append(r["value"])
keys = sorted({k for k, _ in runs})
print(f'{"workload / metric":<48} {"unit":<9} {"A median":>11} {"B median":>11} {"B/A":>6}  runs (A | B)')
for k in keys:
    a, b = runs.get((k, "A"), []), runs.get((k, "B"), [])
    if not a or not b:
        continue
    ma, mb = statistics.median(a), statistics.median(b)
    fmt = lambda xs: " ".join(f"{x:.4g}" for x in xs)
    print(f"{k[0] + ' / ' + k[1]:<48} {k[2]:<9} {ma:>11.4g} {mb:>11.4g} {mb / ma if ma else float('nan'):>6.3f}  {fmt(a)} | {fmt(b)}")
PY
