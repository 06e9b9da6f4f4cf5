#!/usr/bin/env bash
# Runs every ```sh block of README.md, verbatim and in order, in one bash session
# started at the top of the source tree, as a new user typing them into one
# terminal would: a `cd` or a variable holds for the blocks after it, and the
# first failing command (set -e) fails the test. Only `./scripts/check.sh` is
# not run, as it is the test command that runs this test: `bash -n` checks it.
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

# One script: each block, announced by an echo of its number and its text.
awk '
    /^```sh[[:space:]]*$/ { n++; inside = 1; text = ""; body = ""; next }
    /^```/ && inside {
        inside = 0
        printf "echo \"================ README.md, sh block %d ================\"\n", n
        printf "cat <<'\''CF_README_BLOCK'\''\n%sCF_README_BLOCK\n", text
        printf "echo ----------------\n%s", body
        next
    }
    inside {
        text = text $0 "\n"
        # The test command itself would run this test again: checked, not run.
        if ($0 ~ /^\.\/scripts\/check\.sh([[:space:]]|$)/)
            $0 = "bash -n scripts/check.sh  # the test command (it runs this test): syntax only"
        body = body $0 "\n"
    }
    END { printf "echo \"run_readme.sh: all %d sh blocks of README.md ran\"\n", n }
' "$readme" >"$scratch/readme.sh"
if ! grep -q "sh block 1 " "$scratch/readme.sh"; then
    echo "run_readme.sh: no \`\`\`sh block in $readme" >&2
    exit 1
fi

mkdir -p "$scratch/home"
cd "$src"
HOME=$scratch/home bash -euo pipefail "$scratch/readme.sh"
