#!/usr/bin/env bash
# scripts/with-servers.sh CMD [ARGS...]
#
# Runs CMD with a throwaway Redis and a throwaway PostgreSQL, both listening on
# 127.0.0.1 only, on free ports, with all their files in a fresh temporary directory.
# CMD sees:
#
#   OVERBOOK_TEST_REDIS_URL=redis://127.0.0.1:PORT
#   OVERBOOK_TEST_POSTGRES_URL=postgresql://overbook@127.0.0.1:PORT/postgres
#
# (PostgreSQL: superuser role `overbook`, trust authentication, loopback only, no
# password; fsync off: nothing in it is meant to survive.) On exit, normal or not
# (failure, Ctrl-C, SIGTERM), both servers are stopped and the directory is deleted.
# Exits with CMD's exit status (130/143 when interrupted).
#
# The servers are started by `overbook servers` (Sources/RealHarness), the same code that
# `overbook real` uses, so there is one bootstrap. This script builds the package first
# (with the tests, so a `swift test` that follows finds everything up to date) unless
# OVERBOOK names a built `overbook`. SCRATCH_PATH is the build folder (default .build).
# As root, PostgreSQL runs as the `postgres` user (or `overbook-pg`, created on first
# use); OVERBOOK_PG_USER and OVERBOOK_PG_BIN override. Needs what scripts/setup.sh installs.
set -euo pipefail

if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
    [[ $# -eq 0 ]] && exit 2
    exit 0
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
overbook=${OVERBOOK:-}
if [[ -z $overbook ]]; then
    swift=${SWIFT:-swift}
    scratch=${SCRATCH_PATH:-.build}
    [[ $scratch == /* ]] || scratch=$root/$scratch
    "$swift" build --package-path "$root" --scratch-path "$scratch" --build-tests >&2
    overbook=$("$swift" build --package-path "$root" --scratch-path "$scratch" --show-bin-path)/overbook
fi
[[ -x $overbook ]] || { printf 'with-servers: error: %s is not an executable overbook\n' "$overbook" >&2; exit 1; }
exec "$overbook" servers -- "$@"
