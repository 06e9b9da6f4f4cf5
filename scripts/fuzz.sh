#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: every decoder the parent runs on bytes a worker
# wrote) with clang under ASan+UBSan, and runs each for CFUTURES_FUZZ_SECONDS (default
# 60) from a copy of its seed corpus (fuzz/corpus/<target>). A crash, a leak, a
# sanitizer report or a trap fails the script; the input that did it is left in the
# fuzz build tree (crash-*, leak-*). Build tree: $CFUTURES_FUZZ_DIR (default build/fuzz).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=deps.sh
source "$repo/scripts/deps.sh"
cf_install_missing_packages clang-14 libclang-rt-14-dev

dir=${CFUTURES_FUZZ_DIR:-$repo/build/fuzz}
seconds=${CFUTURES_FUZZ_SECONDS:-60}
targets=(fuzz_frames fuzz_reply fuzz_chunk fuzz_lane)

cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link \
    -DCFUTURES_SANITIZE=address,undefined -DCFUTURES_BUILD_FUZZERS=ON -DCFUTURES_BUILD_TESTS=OFF \
    -DCFUTURES_BUILD_EXAMPLES=OFF -DCFUTURES_MPI=OFF -DCFUTURES_INSTALL=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$dir/findings"
for t in "${targets[@]}"; do
    work=$(mktemp -d)
    cp -r "fuzz/corpus/$t/." "$work/"
    echo "== $t: ${seconds} s from $(ls "$work" | wc -l) seeds"
    if ! "$dir/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/findings/$t-" "$work" >"$work.log" 2>&1; then
        tail -n 60 "$work.log"
        echo "fuzz.sh: $t found an input that fails; it is in $dir/findings" >&2
        exit 1
    fi
    grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)" "$work.log" || true
    rm -rf "$work" "$work.log"
done
