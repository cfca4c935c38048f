#!/usr/bin/env bash
# scripts/golden-hashes.sh [--write] [OVERBOOK]
#
# Compares (or, with --write, regenerates) the golden trace hashes in
# Tests/OverbookTests/Golden/: each file's first line is `# overbook hashes ARGS`, the rest
# that command's output. OVERBOOK defaults to the release build (.build/release/overbook).
# A behaviour-preserving change leaves every file as it is; a change that alters a hash
# regenerates them and says why in its commit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

write=false
if [[ ${1:-} == --write ]]; then write=true; shift; fi
overbook=${1:-.build/release/overbook}
[[ -x $overbook ]] || { echo "golden-hashes: $overbook not built (make release)" >&2; exit 2; }

status=0
for file in Tests/OverbookTests/Golden/*.txt; do
    header=$(head -n 1 "$file")
    args=${header#\# overbook hashes }
    # shellcheck disable=SC2086 # ARGS are words
    output=$("$overbook" hashes $args)
    if $write; then
        { echo "$header"; echo "$output"; } >"$file"
        echo "wrote $file ($(wc -l <<<"$output") seeds)"
    elif [[ $(tail -n +2 "$file") == "$output" ]]; then
        echo "same: $file ($(wc -l <<<"$output") seeds)"
    else
        echo "DIFFERENT: $file" >&2
        diff <(tail -n +2 "$file") <(echo "$output") | head -5 >&2 || true
        status=1
    fi
done
exit "$status"
