#!/usr/bin/env bash
# cfutures::mpi::MPIPoolExecutor against mpi4py.futures.MPIPoolExecutor, both with
# spawned workers, in one run: builds bench_mpi_cfutures, runs both competitors
# alternately (--rounds times, median kept), prints their JSON lines and a table
# with the cfutures/mpi4py ratio.
#
#   bench/mpi/run.sh [--quick] [--loaded] [--workers N] [--rounds R] [--build-dir DIR] [--json FILE]
#
# --loaded: the rounds run a second time with one busy loop per core beside them, and
# the table has those figures too, their workload marked "loaded" (on 2 cores the
# spawned workers are then oversubscribed, as on a shared machine).
#
# Needs Open MPI (mpicxx) and Debian's python3-mpi4py (run with /usr/bin/python3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
quick=
loaded=
workers=2
rounds=3
build_dir=${CFUTURES_BENCH_MPI_BUILD:-$here/../../build-bench-mpi}
json_out=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=--quick; rounds=1 ;;
    --loaded) loaded=1 ;;
    --workers) workers=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --json) json_out=$2; shift ;;
    *) echo "usage: $0 [--quick] [--loaded] [--workers N] [--rounds R] [--build-dir DIR] [--json FILE]" >&2; exit 2 ;;
  esac
  shift
done

# Debian's mpi4py, as the build's own packages (scripts/deps.sh), when missing.
# shellcheck source=../../scripts/deps.sh
source "$here/../../scripts/deps.sh"
cf_install_missing_packages python3-mpi4py || exit 1

python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import mpi4py.futures" 2>/dev/null; then
  echo "run.sh: $python cannot import mpi4py.futures (apt-get install python3-mpi4py)" >&2
  exit 1
fi

# Open MPI refuses root without these; spawning 2 workers on fewer cores needs oversubscription.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target bench_mpi_cfutures >/dev/null
bin=$build_dir/bin/bench_mpi_cfutures

out=$(mktemp)
burners=()
stop_burners() {
  if [ ${#burners[@]} -gt 0 ]; then kill "${burners[@]}" 2>/dev/null || true; fi
  burners=()
}
trap 'stop_burners; rm -f "$out"' EXIT

# One pass of the rounds; `mark` is appended to each JSON line's workload.
run_rounds() {
  local mark=$1
  for r in $(seq 1 "$rounds"); do
    # A spawn can hang in Open MPI 4.1 + PMIx 4 (docs/mpi.md): each run is bounded.
    timeout 600 "$bin" $quick --workers "$workers" | sed "s/\"workload\": \"\([^\"]*\)\"/\"workload\": \"\1$mark\"/" | tee -a "$out"
    timeout 600 "$python" "$here/mpi4py_futures.py" $quick --workers "$workers" | sed "s/\"workload\": \"\([^\"]*\)\"/\"workload\": \"\1$mark\"/" | tee -a "$out"
  done
}

run_rounds ""
if [ -n "$loaded" ]; then
  for _ in $(seq 1 "$(nproc)"); do
    bash -c 'while :; do :; done' &
    burners+=($!)
  done
  run_rounds " loaded"
  stop_burners
fi
[ -n "$json_out" ] && cp "$out" "$json_out"

"$python" - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    key = (r["workload"], r["metric"], r["unit"], r["better"])
    rows.setdefault(key, {}).setdefault(r["competitor"], []).append(r["value"])
print()
print(f'{"workload":<24} {"metric":<24} {"unit":<8} {"cfutures":>12} {"mpi4py":>12} {"cf/mpi4py":>10}  better')
for (workload, metric, unit, better), by in rows.items():
    cf = statistics.median(by["cfutures"]) if "cfutures" in by else float("nan")
    py = statistics.median(by["mpi4py"]) if "mpi4py" in by else float("nan")
    ratio = cf / py if py else float("nan")
    wins = (ratio > 1) == (better == "higher")
    verdict = "cfutures" if wins else "mpi4py"
    print(f"{workload:<24} {metric:<24} {unit:<8} {cf:>12.4g} {py:>12.4g} {ratio:>10.3f}  {better} ({verdict})")
PY
