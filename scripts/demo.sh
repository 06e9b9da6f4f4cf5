#!/usr/bin/env bash
# The demo: builds cfutures in Release and runs the documentation's prime-checking
# example (examples/primes.cpp). Build tree: $CFUTURES_DEMO_DIR (default build/demo).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=deps.sh
source "$repo/scripts/deps.sh"
cf_install_missing_packages
dir=${CFUTURES_DEMO_DIR:-$repo/build/demo}

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCFUTURES_BUILD_EXAMPLES=ON -DCFUTURES_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target primes >/dev/null
exec "$dir/examples/primes"
