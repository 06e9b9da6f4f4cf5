#!/usr/bin/env bash
# warn_without_switch.sh <mpiexec> <program>: the warning for a forgotten
# CFUTURES_MPI_POOL=1. Under `mpiexec -n 2` it must appear exactly once (rank 0,
# first pool only) and say what to do; started alone, or with the switch on, never.
set -euo pipefail
mpiexec=$1
program=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
needle="without CFUTURES_MPI_POOL=1"

count() { grep -c -- "$needle" "$1" || true; }

echo "--- mpiexec -n 2 (every rank runs main)"
env -u CFUTURES_MPI_POOL "$mpiexec" -n 2 --oversubscribe "$program" >"$scratch/out" 2>"$scratch/err"
cat "$scratch/out" "$scratch/err"
n=$(count "$scratch/err")
if [[ $n -ne 1 ]]; then
    echo "FAIL: the warning appeared $n times under mpiexec -n 2, expected once" >&2
    exit 1
fi
grep -q -- "CFUTURES_MPI_POOL=1 mpiexec -n 2" "$scratch/err" || { echo "FAIL: the warning does not say how to start the job" >&2; exit 1; }

echo "--- alone (dynamic mode)"
env -u CFUTURES_MPI_POOL "$program" >"$scratch/out" 2>"$scratch/err"
cat "$scratch/out" "$scratch/err"
n=$(count "$scratch/err")
if [[ $n -ne 0 ]]; then
    echo "FAIL: the warning appeared for a program started alone" >&2
    exit 1
fi
echo "PASS"
