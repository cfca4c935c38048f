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
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user
# that Debian's package creates (or, failing that, a system user `overbook-pg`, created
# on first use). Override with OVERBOOK_PG_USER. The server binaries come from the
# highest version in /usr/lib/postgresql/*/bin (override with OVERBOOK_PG_BIN).
# Needs what scripts/setup.sh installs.
set -euo pipefail

log() { printf 'with-servers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ $# -eq 0 || $1 == -h || $1 == --help ]]; then
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
    [[ $# -eq 0 ]] && exit 2
    exit 0
fi

# --- tools -------------------------------------------------------------------
for tool in redis-server redis-cli pg_isready; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found; run scripts/setup.sh"
done

pg_bin=${OVERBOOK_PG_BIN:-}
if [[ -z $pg_bin ]]; then
    mapfile -t candidates < <(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V)
    if ((${#candidates[@]} > 0)); then
        pg_bin=$(dirname "${candidates[-1]}")
    elif command -v initdb >/dev/null 2>&1; then
        pg_bin=$(dirname "$(command -v initdb)")
    else
        die "PostgreSQL server binaries (initdb) not found; run scripts/setup.sh"
    fi
fi
for tool in initdb pg_ctl postgres; do
    [[ -x $pg_bin/$tool ]] || die "$pg_bin/$tool not found"
done

# --- who runs PostgreSQL --------------------------------------------------------
pg_user=
if [[ $(id -u) -eq 0 ]]; then
    command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
    pg_user=${OVERBOOK_PG_USER:-}
    if [[ -z $pg_user ]]; then
        if id -u postgres >/dev/null 2>&1; then
            pg_user=postgres
        else
            pg_user=overbook-pg
        fi
    fi
    if ! id -u "$pg_user" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$pg_user" ||
            die "could not create system user $pg_user"
    fi
    [[ $(id -u "$pg_user") -ne 0 ]] || die "OVERBOOK_PG_USER must not be root"
fi

# Run a PostgreSQL tool as the unprivileged user (when root), from a directory that
# user can enter.
as_pg() {
    if [[ -n $pg_user ]]; then
        (cd / && runuser -u "$pg_user" -- "$@")
    else
        (cd / && "$@")
    fi
}

# --- temporary directory and clean-up ----------------------------------------------
base=${TMPDIR:-/tmp}
if [[ -n $pg_user ]] && ! runuser -u "$pg_user" -- test -x "$base" 2>/dev/null; then
    base=/tmp # e.g. TMPDIR under /root: the PostgreSQL user could not reach it
fi
work=$(mktemp -d "$base/overbook-servers.XXXXXX") || die "mktemp failed in $base"

redis_pid=
pg_data=
pg_pid=

stop_redis() {
    [[ -n $redis_pid ]] || return 0
    kill -TERM "$redis_pid" 2>/dev/null || true
    local _
    for _ in $(seq 50); do
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
}

stop_postgres() {
    [[ -n $pg_data && -f $pg_data/postmaster.pid ]] || return 0
    [[ -n $pg_pid ]] || pg_pid=$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null || true)
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 15 stop >/dev/null 2>&1 ||
        as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 10 stop >/dev/null 2>&1 ||
        true
    if [[ -n $pg_pid ]] && kill -0 "$pg_pid" 2>/dev/null; then
        kill -KILL "$pg_pid" 2>/dev/null || true
        sleep 0.5
    fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    set +e
    stop_redis
    stop_postgres
    rm -rf -- "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- free ports ---------------------------------------------------------------
# A port that is free now; a server that still fails to bind it is retried on another.
free_port() {
    local port
    if port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) &&
        [[ $port =~ ^[0-9]+$ ]]; then
        echo "$port"
        return 0
    fi
    local _
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 30000))
        if ! (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

show_log() {
    [[ -f $1 ]] || return 0
    log "last lines of $2 log:"
    tail -n 25 "$1" | sed 's/^/    /' >&2
}

# --- Redis ----------------------------------------------------------------------
mkdir -p "$work/redis"
redis_port=
for attempt in 1 2 3 4 5; do
    port=$(free_port) || die "no free port found"
    : >"$work/redis/redis.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$work/redis" --logfile "$work/redis/redis.log" \
        </dev/null >/dev/null 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do
        kill -0 "$redis_pid" 2>/dev/null || break
        # PONG, and from our own process: not some other server on the same port.
        if [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] &&
            redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' |
            grep -qx "process_id:$redis_pid"; then
            redis_port=$port
            break
        fi
        sleep 0.1
    done
    [[ -n $redis_port ]] && break
    log "redis-server did not start on port $port (attempt $attempt)"
    show_log "$work/redis/redis.log" redis-server
    stop_redis
done
[[ -n $redis_port ]] || die "could not start redis-server"

# --- PostgreSQL -----------------------------------------------------------------
mkdir -p "$work/pg/data" "$work/pg/sock"
if [[ -n $pg_user ]]; then
    chmod 711 "$work" # the PostgreSQL user may pass through, not list
    chown -R "$pg_user": "$work/pg"
fi
chmod 700 "$work/pg/data"
pg_data=$work/pg/data
pg_log=$work/pg/postgres.log

if ! as_pg "$pg_bin/initdb" -D "$pg_data" -A trust -U overbook --no-sync -E UTF8 \
    --no-locale >"$work/pg/initdb.log" 2>&1; then
    show_log "$work/pg/initdb.log" initdb
    die "initdb failed"
fi
# Trust, and only over loopback (plus the private socket in $work/pg/sock).
cat >"$pg_data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
host    all       all   ::1/128        trust
EOF
[[ -z $pg_user ]] || chown "$pg_user": "$pg_data/pg_hba.conf"

pg_port=
for attempt in 1 2 3 4 5; do
    port=$(free_port) || die "no free port found"
    while [[ $port == "$redis_port" ]]; do port=$(free_port); done
    opts="-c listen_addresses=127.0.0.1 -p $port -k '$work/pg/sock' -c fsync=off"
    opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    if as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t 60 -o "$opts" start \
        >/dev/null 2>&1; then
        pg_pid=$(head -n 1 "$pg_data/postmaster.pid")
        ready=
        for _ in $(seq 100); do
            if pg_isready -q -h 127.0.0.1 -p "$port" -U overbook -d postgres; then
                ready=1
                break
            fi
            sleep 0.1
        done
        if [[ -n $ready ]]; then
            pg_port=$port
            break
        fi
    fi
    log "PostgreSQL did not start on port $port (attempt $attempt)"
    show_log "$pg_log" PostgreSQL
    stop_postgres
    pg_pid=
done
[[ -n $pg_port ]] || die "could not start PostgreSQL"

# --- run CMD ------------------------------------------------------------------
export OVERBOOK_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export OVERBOOK_TEST_POSTGRES_URL="postgresql://overbook@127.0.0.1:$pg_port/postgres"
log "OVERBOOK_TEST_REDIS_URL=$OVERBOOK_TEST_REDIS_URL OVERBOOK_TEST_POSTGRES_URL=$OVERBOOK_TEST_POSTGRES_URL"

set +e
"$@"
status=$?
set -e
exit "$status"
