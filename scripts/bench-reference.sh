#!/usr/bin/env bash
# scripts/bench-reference.sh [OVERBOOK] [ROUNDS]
#
# The simulator's cost per step as a ratio to the bare deterministic async executor it was
# prototyped on (../shared/reference/proto-exec, or $PROTO_EXEC), both measured in the same
# minute, alternating, ROUNDS times (default 3): absolute figures on these shared machines swing
# up to 3x between hours, a ratio taken side by side does not.
#
# A step is a job run or a timer fired, in both. The prototype is built in release into
# .build-proto (ignored by git); OVERBOOK defaults to .build/release/overbook (make release).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

overbook=${1:-.build/release/overbook}
rounds=${2:-3}
proto_source=${PROTO_EXEC:-../shared/reference/proto-exec}
[[ -x $overbook ]] || { echo "bench-reference: $overbook not built (make release)" >&2; exit 2; }
[[ -f $proto_source/Package.swift ]] || { echo "bench-reference: no prototype at $proto_source (set PROTO_EXEC)" >&2; exit 2; }

swift=${SWIFT:-swift}
scratch=$PWD/.build-proto
echo "bench-reference: building the prototype (release) into $scratch" >&2
"$swift" build -c release --package-path "$proto_source" --scratch-path "$scratch" >&2
proto=$("$swift" build -c release --package-path "$proto_source" --scratch-path "$scratch" --show-bin-path)/proto

ratios=()
for round in $(seq 1 "$rounds"); do
    # ASYNC  : slots=20 ... jobs/run=545 timers/run=188 ... runs/s median=4161 [...]
    line=$("$proto" bench 1000 3 50 pref 20 | grep '^ASYNC')
    jobs=$(sed -E 's/.*jobs\/run=([0-9]+).*/\1/' <<<"$line")
    timers=$(sed -E 's/.*timers\/run=([0-9]+).*/\1/' <<<"$line")
    proto_runs=$(sed -E 's/.*runs\/s median=([0-9]+).*/\1/' <<<"$line")
    proto_steps=$((proto_runs * (jobs + timers)))
    # seed experiment (50 users, ...): 259 runs/s median of 3 (...; 287346 steps/s, 1108 steps/run; ...)
    ours=$("$overbook" bench --seconds 3 --users 50 --sweep-seeds 100 2>/dev/null | grep '^seed experiment')
    our_steps=$(sed -E 's/.* ([0-9]+) steps\/s.*/\1/' <<<"$ours")
    our_runs=$(sed -E 's/.*: ([0-9]+) runs\/s.*/\1/' <<<"$ours")
    ratio=$(awk -v a="$our_steps" -v b="$proto_steps" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio")
    printf 'round %d: overbook %s runs/s, %s steps/s | prototype %s runs/s x %d steps = %s steps/s | per-step ratio %s\n' \
        "$round" "$our_runs" "$our_steps" "$proto_runs" "$((jobs + timers))" "$proto_steps" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "per-step ratio (overbook steps/s / prototype steps/s), median of $rounds: $median (1.0 = as cheap as the bare executor)"
