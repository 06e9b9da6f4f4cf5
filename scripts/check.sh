#!/usr/bin/env bash
# The test command: builds cfutures and runs the whole CTest suite three times,
#   plain     build/check-plain  RelWithDebInfo (-O2 -g1), -DCFUTURES_WERROR=ON
#   asan      build/check-asan   -DCFUTURES_SANITIZE=address,undefined
#   tsan      build/check-tsan   -DCFUTURES_SANITIZE=thread
# (warnings are errors in the plain build; sanitizer builds only report them)
# then runs every fuzz target on the decoders of worker bytes for a bounded time,
#   fuzz      build/check-fuzz   clang, ASan+UBSan, libFuzzer (scripts/fuzz.sh)
# stopping at the first failure, and prints a summary.
#
# Environment:
#   CFUTURES_CHECK_DIR      parent of the build trees (default: <repo>/build)
#   CFUTURES_CHECK_CONFIGS  which configurations to run (default: "plain asan tsan fuzz")
#   CFUTURES_CHECK_FUZZ_SECONDS  how long each fuzz target runs (default: 30)
#   CFUTURES_CHECK_JOBS     build parallelism (default: nproc)
#   CFUTURES_CHECK_CTEST_J  ctest parallelism (default: 2)
#   ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS  override the defaults below
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=deps.sh
source "$repo/scripts/deps.sh"
cf_install_missing_packages

check_dir=${CFUTURES_CHECK_DIR:-$repo/build}
configs=${CFUTURES_CHECK_CONFIGS:-plain asan tsan fuzz}
jobs=${CFUTURES_CHECK_JOBS:-$(nproc)}
ctest_j=${CFUTURES_CHECK_CTEST_J:-2}

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
# atexit_sleep_ms=0: TSan otherwise sleeps 1 s at the exit of each of the ~550 test processes.
# (TSan's suppressions are built into the library's TSan builds: src/tsan_suppressions.cpp.)
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=0}

summary=()
current=""
start_all=$SECONDS

print_summary() {
    local rc=$?
    echo
    echo "================ cfutures check summary ================"
    local line
    for line in "${summary[@]}"; do echo "  $line"; done
    if [[ -n $current ]]; then
        echo "  $current: FAILED (see the output above)"
    fi
    if [[ $rc -eq 0 ]]; then
        echo "  all passed in $((SECONDS - start_all)) s"
    else
        echo "  check FAILED (exit $rc) after $((SECONDS - start_all)) s"
    fi
    echo "========================================================"
}
trap print_summary EXIT

# Prefix for commands that run TSan-instrumented programs (the build runs them too,
# to discover the GoogleTest cases). GCC 12's TSan cannot cope with the address-space
# layout some newer kernels randomise ("FATAL: ThreadSanitizer: unexpected memory
# mapping"); then run with ASLR off (setarch -R), which needs no privileges.
tsan_prefix=()
detect_tsan_prefix() {
    local tmp
    tmp=$(mktemp -d)
    printf '#include <thread>\nint x;\nint main() { std::thread t([] { x = 1; }); t.join(); return x - 1; }\n' >"$tmp/probe.cpp"
    if ! "${CXX:-c++}" -std=c++20 -fsanitize=thread -pthread "$tmp/probe.cpp" -o "$tmp/probe" 2>"$tmp/cc.log"; then
        cat "$tmp/cc.log" >&2
        rm -rf "$tmp"
        echo "check.sh: cannot build a -fsanitize=thread program (is libtsan installed?)" >&2
        return 1
    fi
    if "$tmp/probe" >"$tmp/run.log" 2>&1; then
        tsan_prefix=()
    elif grep -q "unexpected memory mapping" "$tmp/run.log" && setarch "$(uname -m)" -R "$tmp/probe" >/dev/null 2>&1; then
        echo "check.sh: TSan needs ASLR off on this kernel: running the tsan configuration under setarch -R"
        tsan_prefix=(setarch "$(uname -m)" -R)
    else
        cat "$tmp/run.log" >&2
        rm -rf "$tmp"
        echo "check.sh: a trivial TSan program fails to run here" >&2
        return 1
    fi
    rm -rf "$tmp"
}

run_config() {
    local name=$1
    shift
    local dir=$check_dir/check-$name
    local t0=$SECONDS
    local prefix=()
    current=$name
    if [[ $name == tsan ]]; then
        detect_tsan_prefix
        prefix=(${tsan_prefix[@]+"${tsan_prefix[@]}"})
    fi
    echo
    echo "======== [$name] configure, build and test in $dir ========"
    (set -x; cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCFUTURES_BUILD_TESTS=ON -DCFUTURES_BUILD_EXAMPLES=ON "$@")
    (set -x; ${prefix[@]+"${prefix[@]}"} cmake --build "$dir" -j"$jobs")
    (set -x; ${prefix[@]+"${prefix[@]}"} ctest --test-dir "$dir" --output-on-failure -j"$ctest_j")
    local ntests
    ntests=$(ctest --test-dir "$dir" -N 2>/dev/null | sed -n 's/^Total Tests: //p')
    summary+=("$name: passed, ${ntests:-?} tests, $((SECONDS - t0)) s ($dir)")
    current=""
}

for config in $configs; do
    case $config in
        # Line tables only (-g1): full debug info made every test file compile 1.6x slower.
        plain) run_config plain -DCFUTURES_WERROR=ON -DCFUTURES_SANITIZE= "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" ;;
        # Sanitizer builds: line tables only, which compiles much faster and still gives
        # sanitizer reports their file:line (the suite is built three times in CI).
        # ASan+UBSan at -O0: GCC 12 took twice as long at -O1 (test_executor.cpp 131 s
        # against 72 s; the whole build 302 s against about 440 s), and the tests ran
        # 244 s against 187 s: 80 s less in all (2026-12-07). TSan stays at -O1, not tried at -O0.
        asan) run_config asan -DCFUTURES_WERROR=OFF -DCFUTURES_SANITIZE=address,undefined "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1" ;;
        tsan) run_config tsan -DCFUTURES_WERROR=OFF -DCFUTURES_SANITIZE=thread "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" ;;
        fuzz)
            current=fuzz
            t0=$SECONDS
            echo
            echo "======== [fuzz] the decoders of worker bytes, ${CFUTURES_CHECK_FUZZ_SECONDS:-30} s per target ========"
            CFUTURES_FUZZ_DIR=$check_dir/check-fuzz CFUTURES_FUZZ_SECONDS=${CFUTURES_CHECK_FUZZ_SECONDS:-30} \
                bash "$repo/scripts/fuzz.sh"
            summary+=("fuzz: passed, 4 targets, $((SECONDS - t0)) s ($check_dir/check-fuzz)")
            current=""
            ;;
        *)
            echo "check.sh: unknown configuration '$config' (plain, asan, tsan)" >&2
            exit 2
            ;;
    esac
done
