#!/usr/bin/env bash
# Runs cfutures' benchmark suite against its peers and reports it.
#
#   bench/run.sh           the full run (about 5 minutes on 2 cores)
#   bench/run.sh --quick   smoke-test sizes (well under a minute once built); its
#                          report goes to build/bench/results.{md,png}
#   bench/run.sh WORKLOAD...  only these workloads (e.g. stop_call process_pool); its
#                          report goes to build/bench/results.{md,png} too
#
# Configures and builds Release in build/bench (the bench_compile target: every
# benchmark, -Werror; bench_compile_<workload> for each workload named; as many
# jobs as CMAKE_BUILD_PARALLEL_LEVEL says, else nproc), runs every competitor of
# every workload (each program prints one JSON line per figure), then
# bench/report.py prints the table and writes bench/results.md and
# bench/results.png. Raw lines: build/bench/results.jsonl.
set -uo pipefail

# The same list, in the same order, as bench/CMakeLists.txt and report.py.
all_workloads=(throughput round_trip as_completed wait_first map_buffered pending_memory process_pool primes remote_throw
    stop_call then_chain fan_in ping_pong)

quick=()
workloads=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick=(--quick) ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown argument '$arg' (try --quick)" >&2; exit 2 ;;
        *) [[ " ${all_workloads[*]} " == *" $arg "* ]] \
               || { echo "run.sh: unknown workload '$arg' (one of: ${all_workloads[*]})" >&2; exit 2; }
           workloads+=("$arg") ;;
    esac
done
subset=${#workloads[@]}
[[ $subset -eq 0 ]] && workloads=("${all_workloads[@]}")

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench_dir")
# The peers (Boost.Asio, Boost.Thread, oneTBB, Qt 6, pebble for Debian's python3) and gnuplot for the
# chart, from Debian, as the build's own packages: a peer left out would leave its rows out of the table.
# shellcheck source=../scripts/deps.sh
source "$root/scripts/deps.sh"
cf_install_missing_packages libboost-dev libboost-thread-dev libtbb-dev qt6-base-dev gnuplot-nox python3-pebble \
    || exit 1
build="$root/build/bench"
bin="$build/bench/bin"
python=/usr/bin/python3
[[ -x $python ]] || python=python3
limit=300
export PYTHONDONTWRITEBYTECODE=1  # keep bench/common free of __pycache__
[[ ${#quick[@]} -gt 0 ]] && limit=60

competitors=(cfutures asio tbb std_async boost_thread qt)
# Each folder's Python peers: concurrent.futures, and pebble where it has the workload.
python_peers=(python.py python_pebble.py)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== configure and build (Release, $build)" >&2
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCFUTURES_BUILD_BENCHMARKS=ON -DCFUTURES_BUILD_TESTS=OFF \
    -DCFUTURES_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 \
    || { cat "$build/configure.log" >&2; exit 1; }
targets=(bench_compile)
[[ $subset -gt 0 ]] && targets=("${workloads[@]/#/bench_compile_}")
cmake --build "$build" --target "${targets[@]}" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" >"$build/build.log" 2>&1 \
    || { tail -n 50 "$build/build.log" >&2; exit 1; }

results="$build/results.jsonl"
: >"$results"
failed=()
start=$SECONDS

# run NAME COMMAND...: appends the program's JSON lines to $results.
run() {
    local name=$1; shift
    local t0=$SECONDS out rc
    out=$(timeout "$limit" "$@" 2>"$build/last.stderr")
    rc=$?
    printf '%s\n' "$out" | grep '^{' >>"$results"
    if [[ $rc -ne 0 ]]; then
        failed+=("$name")
        echo "   $name FAILED (exit $rc$([[ $rc -eq 124 ]] && echo ", timed out after ${limit}s"))" >&2
        sed 's/^/     /' "$build/last.stderr" | tail -n 5 >&2
    else
        echo "   $name $((SECONDS - t0))s" >&2
    fi
}

for workload in "${workloads[@]}"; do
    echo "== $workload" >&2
    for competitor in "${competitors[@]}"; do
        exe="$bin/bench_${workload}_${competitor}"
        [[ -x $exe ]] && run "$workload/$competitor" "$exe" "${quick[@]}"
    done
    for peer in "${python_peers[@]}"; do
        [[ -f $bench_dir/$workload/$peer ]] \
            && run "$workload/${peer%.py}" "$python" "$bench_dir/$workload/$peer" "${quick[@]}"
    done
done
echo "== ran in $((SECONDS - start))s" >&2

# A quick run is a smoke test, and a run of some workloads is not the suite's table: their
# report stays in the build tree, next to results.jsonl.
out_dir=$bench_dir
[[ ${#quick[@]} -gt 0 || $subset -gt 0 ]] && out_dir=$build
"$python" "$bench_dir/report.py" "$results" "${quick[@]}" --load-before "$load_before" \
    --md "$out_dir/results.md" --png "$out_dir/results.png" ${failed[@]+--failed "${failed[@]}"}
