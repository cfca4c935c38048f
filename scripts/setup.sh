#!/usr/bin/env bash
# scripts/setup.sh: make sure this machine has what Overbook needs to build and test.
#
# Idempotent and quiet when everything is already there. Installs, with apt-get,
# only the Debian packages that are missing (running `apt-get update` once, and only
# then), and checks that the Swift toolchain is reachable.
#
#   libhiredis-dev  C client for Redis       (Backends, CHiredis)
#   libpq-dev       C client for PostgreSQL  (Backends, CLibpq)
#   redis-server    throwaway Redis for the tests      (scripts/with-servers.sh)
#   postgresql      throwaway PostgreSQL for the tests (scripts/with-servers.sh)
#
# The servers' Debian services are not used: scripts/with-servers.sh starts private
# instances on free loopback ports. While installing, service start-up is suppressed
# (policy-rc.d) unless the machine already has its own policy.
#
# `scripts/setup.sh --build-only` (what deploy/Dockerfile's build stage runs) installs only what
# building needs: the two client libraries, git and make; no servers, no virtual environments.
#
# Running this script cannot change the PATH of the shell that ran it. If swift is
# not on PATH but the toolchain is at /opt/swift/usr/bin, it says so; `make` and
# .ci/run add that directory to PATH themselves.
set -euo pipefail

SWIFT_FALLBACK_DIR=${SWIFT_FALLBACK_DIR:-/opt/swift/usr/bin}
build_only=false
case ${1:-} in
    "") ;;
    --build-only) build_only=true ;;
    *) printf 'setup: error: unknown option %s (usage: scripts/setup.sh [--build-only])\n' "$1" >&2; exit 2 ;;
esac
if $build_only; then
    PACKAGES=(libhiredis-dev libpq-dev)
else
    PACKAGES=(libhiredis-dev libpq-dev redis-server postgresql)
fi

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this script expects Debian (12) or a derivative"

missing=()
for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done
# SwiftPM fetches package dependencies with git; the Makefile needs make.
command -v git >/dev/null 2>&1 || missing+=(git)
command -v make >/dev/null 2>&1 || missing+=(make)

if ((${#missing[@]} > 0)); then
    say "installing missing Debian packages: ${missing[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 ||
            die "not root and no sudo; install as root: apt-get install ${missing[*]}"
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive

    # Keep apt from starting the system-wide redis/postgresql services: the tests
    # start their own. Only when the machine has no policy of its own.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        trap '"${SUDO[@]}" rm -f "$policy"' EXIT
    fi

    retry() {
        local attempt
        for attempt in 1 2 3; do
            "$@" && return 0
            say "attempt $attempt failed: $*"
            sleep $((attempt * 5))
        done
        return 1
    }
    retry "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
    retry "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
    for pkg in "${missing[@]}"; do
        [[ $pkg == git || $pkg == make ]] && continue
        is_installed "$pkg" || die "package $pkg still not installed after apt-get install"
    done
    say "installed: ${missing[*]}"
fi

# The tools scripts/with-servers.sh uses.
if ! $build_only; then
    for tool in redis-server redis-cli psql pg_isready runuser; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH after installing packages"
    done
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
        die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
fi

# Swift toolchain.
if ! command -v swift >/dev/null 2>&1; then
    if [[ -x $SWIFT_FALLBACK_DIR/swift ]]; then
        export PATH="$PATH:$SWIFT_FALLBACK_DIR"
        say "swift is not on PATH; the toolchain is at $SWIFT_FALLBACK_DIR."
        say "add it to your shell:  export PATH=\"\$PATH:$SWIFT_FALLBACK_DIR\"  (make and .ci/run do this themselves)"
    else
        die "swift not found on PATH nor at $SWIFT_FALLBACK_DIR; install a Swift 6 toolchain (https://www.swift.org/install/) and put its usr/bin on PATH"
    fi
fi
swift --version >/dev/null 2>&1 || die "'swift --version' failed; is the toolchain at $(command -v swift) complete?"

$build_only && exit 0

# A virtual environment of the project's own, DIR, with the pinned (hashed) REQUIREMENTS, installed
# when TOOL is missing or the requirements file changed since; WHAT names it in the message.
python_tools() {
    local dir=$1 requirements=$2 tool=$3 what=$4 wanted marker
    wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
    marker=$dir/.$(basename "$requirements").sha256
    [[ -x $dir/bin/$tool && $(cat "$marker" 2>/dev/null) == "$wanted" ]] && return 0
    command -v python3 >/dev/null 2>&1 || die "python3 not found; install it (apt-get install python3 python3-venv)"
    python3 -c 'import venv, ensurepip' 2>/dev/null ||
        die "python3 $(python3 -c 'import sys; print(sys.version.split()[0])') cannot make a virtual environment; install python3-venv"
    say "installing $what into $dir"
    [[ -x $dir/bin/python ]] || python3 -m venv "$dir" || die "python3 -m venv $dir failed"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$requirements" ||
        die "pip install -r $requirements into $dir failed"
    printf '%s\n' "$wanted" >"$marker"
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The API fuzzer (scripts/fuzz-api.sh): schemathesis and everything it needs.
python_tools "$root/.venv" "$root/scripts/requirements-fuzz.txt" schemathesis \
    "the API fuzzer ($(grep -m1 '^schemathesis==' "$root/scripts/requirements-fuzz.txt" | cut -d' ' -f1))"
# The deployment validators (scripts/check-deploy.sh): compose-spec and Kubernetes schemas.
python_tools "$root/.venv-deploy" "$root/scripts/requirements-deploy.txt" kubernetes-validate \
    "the deployment validators (check-jsonschema, kubernetes-validate)"
