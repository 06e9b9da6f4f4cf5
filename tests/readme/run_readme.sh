#!/usr/bin/env bash
# Runs every ```sh block of README.md, verbatim and in order, from the top of the
# source tree, as a new user following the README would: each block in one bash
# (set -e: the first failing command fails the test), so a `cd` holds for the rest
# of its block. Only `./scripts/check.sh` is not run, as it is the test command
# that runs this test: `bash -n` checks it instead.
#
#   tests/readme/run_readme.sh <source dir>
#
# HOME is a scratch directory, so that the install recipe's "$HOME/.local" prefix
# is this run's own. Builds go where the README says (build/release, ...), so a
# second run only brings them up to date.
set -euo pipefail

src=$(cd "${1:?usage: run_readme.sh <source dir>}" && pwd)
readme=$src/README.md
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The ```sh blocks, one file each.
awk -v dir="$scratch" '
    /^```sh[[:space:]]*$/ { n++; file = sprintf("%s/block%02d.sh", dir, n); inside = 1; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { print > file }
' "$readme"
blocks=("$scratch"/block*.sh)
if [[ ! -e ${blocks[0]} ]]; then
    echo "run_readme.sh: no \`\`\`sh block in $readme" >&2
    exit 1
fi

mkdir -p "$scratch/home"
cd "$src"
n=0
for block in "${blocks[@]}"; do
    n=$((n + 1))
    # The test command itself would run this test again: checked, not run.
    sed -i 's|^\./scripts/check\.sh\b.*$|bash -n scripts/check.sh  # the test command (it runs this test): syntax only|' "$block"
    echo "================ README.md, sh block $n of ${#blocks[@]} ================"
    cat "$block"
    echo "----------------"
    if ! HOME=$scratch/home bash -euo pipefail "$block"; then
        echo "run_readme.sh: README.md's sh block $n failed (shown above)" >&2
        exit 1
    fi
done
echo "run_readme.sh: all ${#blocks[@]} sh blocks of README.md ran"
