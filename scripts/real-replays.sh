#!/usr/bin/env bash
# The seed algorithm's five known flaws, each found and shrunk by the simulator and then replayed
# on real Redis and PostgreSQL (`overbook real SCENARIO --schedule FILE`), RUNS times per variant:
# the seed (each should be reproduced every time) and three fixed variants (nothing should break).
# Prints one summary line per scenario and variant. A benchmark, not a test: it takes minutes
# (the test command runs one replay of each instead).
#
#   scripts/real-replays.sh [OVERBOOK_BINARY] [RUNS]
#
# Throwaway servers are started by each `overbook real` (loopback, a temporary directory); so a
# machine needs what `scripts/setup.sh` installs.
set -euo pipefail
cd "$(dirname "$0")/.."
overbook="${1:-.build/debug/overbook}"
runs="${2:-10}"
variants=(seed crash-safe fenced+atomic+idempotent+crash-safe lock-free)
# scenario:invariant the shrunk schedule violates
flaws=(lock-expiry:bookings-within-capacity lost-reserve-reply:inventory-matches-bookings
       crash-between-commits:inventory-matches-bookings retry-double-booking:no-duplicate-booking
       overlapping-stays:bookings-within-capacity)

schedules="$(mktemp -d "${TMPDIR:-/tmp}/overbook-real-replays-XXXXXX")"
trap 'rm -rf "$schedules"' EXIT

for flaw in "${flaws[@]}"; do
    scenario="${flaw%%:*}"
    invariant="${flaw##*:}"
    "$overbook" check "scenarios/real/$scenario.yaml" --strategy random --budget 30 --max-faults 0 --no-report \
        --schedule-dir "$schedules" > "$schedules/$scenario-check.txt" 2>&1 || true
    schedule="$schedules/real-$scenario-shrunk-$invariant.json"
    if [[ ! -f "$schedule" ]]; then
        echo "$scenario: the simulator found no $invariant violation to replay (see its check output):"
        cat "$schedules/$scenario-check.txt"
        exit 1
    fi
    for variant in "${variants[@]}"; do
        log="$schedules/$scenario-$variant.txt"
        "$overbook" real "scenarios/real/$scenario.yaml" --schedule "$schedule" --variant "$variant" --runs "$runs" --no-report \
            > "$log" 2>&1 || true
        summary="$(grep -E "reproduced on real Redis and PostgreSQL in [0-9]+ of" "$log" || echo "no summary: $(tail -3 "$log")")"
        violating="$(grep -E "^run [0-9]+:" "$log" | grep "reproduced on real Redis and PostgreSQL: \|also violated" || true)"
        echo "$scenario, variant $variant, $runs runs: $summary; runs with any violation: $(grep -c . <<< "$violating" || true)"
        # A fixed variant that breaks anything: its runs, and the whole log kept.
        if [[ "$variant" != seed && -n "$violating" ]]; then
            echo "$violating" | sed 's/^/    /'
            cp "$log" "${TMPDIR:-/tmp}/overbook-real-replays-$scenario-$variant.log"
            echo "    log kept: ${TMPDIR:-/tmp}/overbook-real-replays-$scenario-$variant.log"
        fi
    done
done
