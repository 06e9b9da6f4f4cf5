#!/usr/bin/env bash
# The demo: builds cfutures in Release and runs the documentation's prime-checking
# example (examples/primes.cpp). Build tree: $CFUTURES_DEMO_DIR (default build/release,
# the Release tree the README's other commands use too).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=deps.sh
source "$repo/scripts/deps.sh"
cf_install_missing_packages
dir=${CFUTURES_DEMO_DIR:-$repo/build/release}
jobs=$(nproc)

echo "cfutures demo: checking whether six numbers are prime on a ProcessPoolExecutor (examples/primes.cpp)."
if [[ -x $dir/examples/primes ]]; then
    echo "cfutures demo: bringing the Release build in ${dir#"$repo"/} up to date"
else
    echo "cfutures demo: building cfutures and the example in Release into ${dir#"$repo"/}" \
         "(the first time about a minute with $jobs cores)"
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCFUTURES_BUILD_EXAMPLES=ON -DCFUTURES_BUILD_TESTS=OFF >/dev/null
# CMake's own progress lines ([ 42%] Building CXX object ...) show how far the build is.
cmake --build "$dir" -j"$jobs" --target primes
echo "cfutures demo: running ${dir#"$repo"/}/examples/primes"
echo
exec "$dir/examples/primes"
