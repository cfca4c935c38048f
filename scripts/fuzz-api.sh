#!/usr/bin/env bash
# scripts/fuzz-api.sh: fuzz both HTTP services against openapi.yaml, then check the databases.
#
# Run inside scripts/with-servers.sh (make test does), which exports
# OVERBOOK_TEST_POSTGRES_URL and OVERBOOK_TEST_REDIS_URL:
#
#   scripts/with-servers.sh scripts/fuzz-api.sh
#
# On the throwaway PostgreSQL it creates three databases, starts on free loopback ports
#   - an inventory service on fuzz_inventory_direct (seeded), which schemathesis fuzzes directly,
#   - an inventory service on fuzz_inventory (seeded), used only by
#   - a booking service on fuzz_booking (Redis logical database 7), which schemathesis fuzzes,
# then runs schemathesis (pinned in scripts/requirements-fuzz.txt, installed into .venv/ by
# scripts/setup.sh) against each service: every phase (examples, coverage, fuzzing and the
# stateful phase, which follows the spec's links: confirm, then the booking by id and the
# user's bookings; reserve, then the night's availability and the release), every check,
# FUZZ_MAX_EXAMPLES (500) examples per operation, seed FUZZ_SEED (15), one worker so the
# seed decides the run. JUnit XML, the services' logs and summary.txt (cases per operation and
# phase, answers by status: scripts/fuzz-summary.py) are kept in FUZZ_REPORT_DIR
# (reports/api-fuzz). Afterwards, with the services stopped, it checks the databases:
#   - the booking service's pair: every booking is confirmed, cancelled or abandoned (none
#     pending: no partial saga left); every night of a confirmed booking has an availability
#     row; every room-night's available_quantity is total_quantity minus the confirmed
#     bookings covering it (no decrement without a booking, no booking without a decrement);
#     none negative;
#   - the directly fuzzed inventory: no room or availability row was created, none negative.
# Every process and database it made is stopped or dropped on exit. Exit status: 0 when
# schemathesis found nothing on either service and every invariant holds, else 1 (2: usage).
#
# OVERBOOK names a built overbook (default: the debug build in SCRATCH_PATH, .build);
# FUZZ_VARIANT (seed) is the services' --variant.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'fuzz-api: %s\n' "$*" >&2; }
die() { printf 'fuzz-api: error: %s\n' "$*" >&2; exit 2; }

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 0
fi

postgres=${OVERBOOK_TEST_POSTGRES_URL:-}
redis=${OVERBOOK_TEST_REDIS_URL:-}
[[ -n $postgres && -n $redis ]] ||
    die "OVERBOOK_TEST_POSTGRES_URL and OVERBOOK_TEST_REDIS_URL are not set; run it as: scripts/with-servers.sh $0"
overbook=${OVERBOOK:-}
if [[ -z $overbook ]]; then
    build=${SCRATCH_PATH:-.build}
    [[ $build == /* ]] || build=$root/$build
    overbook=$build/debug/overbook
fi
[[ -x $overbook ]] || die "$overbook is not an executable overbook (build it, or set OVERBOOK)"
schemathesis=$root/.venv/bin/schemathesis
[[ -x $schemathesis ]] || die "$schemathesis not found; run scripts/setup.sh"

examples=${FUZZ_MAX_EXAMPLES:-500}
seed=${FUZZ_SEED:-15}
variant=${FUZZ_VARIANT:-seed}
reports=${FUZZ_REPORT_DIR:-$root/reports/api-fuzz}
mkdir -p "$reports"
rm -f "$reports"/*.xml "$reports"/*.log "$reports"/summary.txt

databases=(fuzz_inventory_direct fuzz_inventory fuzz_booking)
database_url() { printf '%s/%s' "${postgres%/*}" "$1"; }
sql() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

pids=()
scratch=
cleanup() {
    local status=$? pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
    [[ -z $scratch ]] || rm -rf "$scratch"
    for db in "${databases[@]}"; do
        sql "$postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# The event streams the summaries are made from (tens of MB), and Hypothesis's own files
# (it would make .hypothesis/ in the working directory): not kept.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/overbook-fuzz-api.XXXXXX")
export HYPOTHESIS_STORAGE_DIRECTORY=$scratch/hypothesis

for db in "${databases[@]}"; do
    sql "$postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
redis-cli -u "$redis/7" FLUSHDB >/dev/null

# Starts `overbook serve NAME ARGS...` on a free port, logging to $reports/LOG.log; sets $port.
port=
start() {
    local log=$reports/$1.log
    shift
    : >"$log"  # before the child opens it: the loop below reads it at once
    OVERBOOK_PARENT_PID=$$ "$overbook" serve "$@" --port 0 --variant "$variant" >"$log" 2>&1 &
    pids+=($!)
    local pid=$! waited
    for waited in $(seq 1 300); do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/api.*|\1|p' "$log" | head -n 1)
        [[ -n $port ]] && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "overbook serve $1 stopped before it listened"; }
        sleep 0.1
    done
    cat "$log" >&2
    die "overbook serve $1 did not listen within 30 s"
}

start inventory-direct inventory --database-url "$(database_url fuzz_inventory_direct)" --seed-data
direct_port=$port
start inventory inventory --database-url "$(database_url fuzz_inventory)" --seed-data
inventory_port=$port
# The booking service's inventory gets room for thousands of bookings: with the seed's
# capacities (1, 5, 3, 2) two long stays would fill it, and every later confirm would be a 409,
# leaving the stateful phase no booking to follow.
sql "$(database_url fuzz_inventory)" -c "UPDATE rooms SET total_quantity = 100000" \
    -c "UPDATE availability SET available_quantity = 100000"
start booking booking --database-url "$(database_url fuzz_booking)" --redis-url "$redis/7" \
    --inventory-url "http://127.0.0.1:$inventory_port/api"
booking_port=$port
say "inventory (fuzzed) on $direct_port, inventory (the booking's) on $inventory_port, booking on $booking_port; variant $variant"

seeded() { sql "$(database_url fuzz_inventory_direct)" -c "SELECT (SELECT count(*) FROM rooms) || ' rooms, ' || (SELECT count(*) FROM availability) || ' availability rows'"; }
seeded_before=$(seeded)

# Every phase is on by default; --phases lists them so that stays true if a default changes.
# Every check is on in scripts/schemathesis.toml (which says why not `--checks all` here).
fuzz() {
    local tag=$1 port=$2 started=$SECONDS status=0
    say "schemathesis: $tag service, $examples examples per operation, seed $seed"
    "$schemathesis" --no-color --config-file "$root/scripts/schemathesis.toml" run "$root/openapi.yaml" \
        --url "http://127.0.0.1:$port/api" --include-tag "$tag" \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$examples" --seed "$seed" --workers 1 --generation-database none \
        --report junit,ndjson --report-junit-path "$reports/$tag.xml" --report-ndjson-path "$scratch/$tag.ndjson" ||
        status=$?
    say "schemathesis: $tag service: exit $status after $((SECONDS - started)) s"
    "$root/.venv/bin/python" "$root/scripts/fuzz-summary.py" "$tag" "$scratch/$tag.ndjson" | tee -a "$reports/summary.txt" >&2
    rm -f "$scratch/$tag.ndjson"
    return "$status"
}
failed=()
fuzz inventory "$direct_port" || failed+=("schemathesis on the inventory service")
fuzz booking "$booking_port" || failed+=("schemathesis on the booking service")

# Nothing writes any more: stop the services (a graceful stop finishes in-flight requests).
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()

# The invariants. Each query prints one line per violation; none is the pass.
check() {
    local title=$1 url=$2 query=$3 rows
    rows=$(sql "$url" -c "$query")
    if [[ -z $rows ]]; then
        say "invariant holds: $title"
    else
        say "INVARIANT FAILS: $title ($(wc -l <<<"$rows") rows), e.g.:"
        head -n 5 <<<"$rows" | sed 's/^/    /' >&2
        failed+=("invariant: $title")
    fi
}
inventory_url=$(database_url fuzz_inventory)
booking_url=$(database_url fuzz_booking)
say "booking_db: $(sql "$booking_url" -c "SELECT coalesce(string_agg(n || ' ' || status, ', ' ORDER BY status), 'no bookings') FROM (SELECT status, count(*) AS n FROM bookings GROUP BY status) s")"
# The bookings, copied into the inventory's database to be joined with its rows.
sql "$inventory_url" -c "CREATE TABLE fuzz_bookings (id integer, user_id text, room_id integer, check_in date, check_out date, status text)"
sql "$booking_url" -c "COPY (SELECT id, user_id, room_id, check_in, check_out, status FROM bookings) TO STDOUT" |
    sql "$inventory_url" -c "COPY fuzz_bookings FROM STDIN"
confirmed_nights="SELECT b.id, b.room_id, n::date AS night FROM fuzz_bookings b,
    generate_series(b.check_in, b.check_out - 1, interval '1 day') AS n WHERE b.status = 'confirmed'"
check "every booking is confirmed, cancelled or abandoned (none pending or partial)" "$inventory_url" \
    "SELECT id, status FROM fuzz_bookings WHERE status NOT IN ('confirmed', 'cancelled', 'abandoned') ORDER BY id"
check "every night of a confirmed booking has an availability row" "$inventory_url" \
    "SELECT c.id, c.room_id, c.night FROM ($confirmed_nights) c
     LEFT JOIN availability a ON a.room_id = c.room_id AND a.date = c.night WHERE a.room_id IS NULL ORDER BY c.id, c.night"
check "available_quantity = total_quantity - confirmed bookings, for every room-night" "$inventory_url" \
    "SELECT a.room_id, a.date, r.total_quantity, a.available_quantity, count(c.id) AS confirmed
     FROM availability a JOIN rooms r ON r.id = a.room_id
     LEFT JOIN ($confirmed_nights) c ON c.room_id = a.room_id AND c.night = a.date
     GROUP BY a.room_id, a.date, r.total_quantity, a.available_quantity
     HAVING a.available_quantity <> r.total_quantity - count(c.id) ORDER BY a.room_id, a.date"
check "no negative available_quantity (the booking's inventory)" "$inventory_url" \
    "SELECT room_id, date, available_quantity FROM availability WHERE available_quantity < 0 ORDER BY room_id, date"
direct_url=$(database_url fuzz_inventory_direct)
seeded_after=$(seeded)
if [[ $seeded_after == "$seeded_before" ]]; then
    say "invariant holds: the fuzzed inventory created no row ($seeded_after)"
else
    say "INVARIANT FAILS: the fuzzed inventory's rows changed: seeded $seeded_before, now $seeded_after"
    failed+=("invariant: no row created in the fuzzed inventory")
fi
check "no negative available_quantity (the fuzzed inventory)" "$direct_url" \
    "SELECT room_id, date, available_quantity FROM availability WHERE available_quantity < 0 ORDER BY room_id, date"

if ((${#failed[@]} > 0)); then
    printf -v list '%s; ' "${failed[@]}"
    say "FAILED: ${list%; }"
    say "reports: $reports"
    exit 1
fi
say "passed: schemathesis found no failure on either service and every invariant holds; JUnit in $reports"
