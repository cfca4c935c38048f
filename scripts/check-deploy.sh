#!/usr/bin/env bash
# scripts/check-deploy.sh: the deployment files checked without a container engine or a cluster
# (part of `make test`; Tests/OverbookTests/ComposeWiringTests.swift runs compose.yaml's commands).
#
#   1. deploy/compose.yaml against the compose-spec JSON schema (check-jsonschema's vendored copy);
#   2. every manifest in deploy/k8s/ and the built kustomization (`kubectl kustomize`) against
#      Kubernetes' strict schemas (kubernetes-validate: no unknown field) for KUBERNETES_VERSION;
#   3. deploy/Dockerfile builds with the README's own commands (`scripts/setup.sh --build-only`,
#      then `make release`) and its runtime stage installs the Debian package of every library
#      the binary links that the slim base image lacks (read off BINARY with readelf, each
#      library's package from dpkg -S).
#
# Usage: scripts/check-deploy.sh [BINARY]   (default .build/debug/overbook; step 3 skips the
# libraries when there is none). The validators are pinned in scripts/requirements-deploy.txt
# and installed into .venv-deploy/ by scripts/setup.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
KUBERNETES_VERSION=${KUBERNETES_VERSION:-1.37.0}
binary=${1:-${SCRATCH_PATH:-.build}/debug/overbook}
venv=.venv-deploy/bin
failed=0
say() { printf 'check-deploy: %s\n' "$*"; }
fail() { printf 'check-deploy: FAIL: %s\n' "$*" >&2; failed=1; }

[[ -x $venv/check-jsonschema && -x $venv/kubernetes-validate ]] ||
    { echo "check-deploy: the validators are missing from .venv-deploy/; run scripts/setup.sh" >&2; exit 2; }

say "compose-spec schema: deploy/compose.yaml"
"$venv/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml || fail "deploy/compose.yaml"

manifests=()
for file in deploy/k8s/*.yaml; do
    [[ $(basename "$file") == kustomization.yaml ]] || manifests+=("$file")
done
say "Kubernetes $KUBERNETES_VERSION strict schemas: ${manifests[*]}"
"$venv/kubernetes-validate" --strict --kubernetes-version "$KUBERNETES_VERSION" "${manifests[@]}" || fail "deploy/k8s manifests"
if command -v kubectl >/dev/null 2>&1; then
    built=$(mktemp --suffix=.yaml)
    trap 'rm -f "$built"' EXIT
    say "kubectl kustomize deploy/k8s ($(kubectl version --client 2>/dev/null | grep -i kustomize || true))"
    if kubectl kustomize deploy/k8s >"$built"; then
        say "the kustomization's $(grep -c '^kind:' "$built") resources, strict"
        "$venv/kubernetes-validate" --strict --kubernetes-version "$KUBERNETES_VERSION" "$built" >/dev/null || fail "the built kustomization"
    else
        fail "kubectl kustomize deploy/k8s"
    fi
else
    fail "kubectl not found: it builds the kustomization (on Debian: the kubectl package from Kubernetes' apt repository)"
fi

say "deploy/Dockerfile builds as the README does"
# The build stage (everything before the last FROM), continuation lines joined.
build_stage=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' deploy/Dockerfile | awk '/^FROM /{n++} n==1')
runtime_stage=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' deploy/Dockerfile | awk '/^FROM /{n++} n==2')
grep -Eq '^RUN scripts/setup\.sh --build-only *$' <<<"$build_stage" || fail "the build stage does not run scripts/setup.sh --build-only"
grep -Eq '^RUN make release( |$)' <<<"$build_stage" || fail "the build stage does not build with make release (the target make run builds)"
grep -Eq '^release: setup$' Makefile && grep -Eq 'build -c release --product overbook' Makefile ||
    fail "the Makefile's release target is not setup + swift build -c release --product overbook"
grep -Eq '^ENTRYPOINT \["overbook"\]' <<<"$runtime_stage" || fail "the image's ENTRYPOINT is not [\"overbook\"]"
grep -Eq '^USER [1-9]' <<<"$runtime_stage" || fail "the image runs as root"
grep -Eq '^HEALTHCHECK .*CMD \["overbook", "health"\]' <<<"$runtime_stage" || fail "no HEALTHCHECK with overbook health"
installed=$(grep -E '^RUN apt-get' <<<"$runtime_stage" | grep -oE 'install [^&]*' | tr ' ' '\n' | grep -vE '^(install|-.*)?$' || true)
# What debian:bookworm-slim has without asking (checked on a debootstrap --variant=minbase).
base="libc6 libgcc-s1 libstdc++6 zlib1g"
if [[ -x $binary ]]; then
    for library in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        # The Swift runtime and Foundation are linked in statically (--static-swift-stdlib).
        [[ $library =~ ^lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime) ]] && continue
        package=$(dpkg -S "*/$library" 2>/dev/null | head -1 | cut -d: -f1)
        [[ $library == ld-linux* ]] && package=libc6
        if [[ -z $package ]]; then
            fail "$library (linked by $binary): no Debian package owns it"
        elif ! grep -qxF "$package" <<<"$installed"$'\n'"${base// /$'\n'}"; then
            fail "$binary links $library (package $package), which the runtime stage does not install"
        fi
    done
    say "the runtime stage installs every library $binary links ($(paste -sd' ' <<<"$installed"), and the base's $base)"
else
    say "no binary at $binary: the linked libraries are not checked"
fi

if ((failed)); then
    say "FAILED"
    exit 1
fi
say "all deployment checks passed"
