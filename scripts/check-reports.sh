#!/usr/bin/env bash
# Opens every HTML report in DIR in headless Chromium, fails on any console message (our reports
# log nothing, so any message is an error: an exception, a blocked or failed load), fails on any
# reference to an external resource, and takes a screenshot of each report (DIR/screenshots/).
#
# Usage: scripts/check-reports.sh [--install] [--samples] DIR
#   --install  apt-get install chromium when it is missing (as root)
#   --samples  first write one sample report of each kind (run, replay, batch, real) into DIR
#              (runs the ReportsTests sample writer; SCRATCH=path picks the build directory,
#              default .build), and fail if a kind is missing
# Without Chromium (and without --install) it says so and exits 0: CI runs it where Chromium is.
set -euo pipefail

install=0
samples=0
dir=""
for argument in "$@"; do
    case "$argument" in
        --install) install=1 ;;
        --samples) samples=1 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        -*) echo "check-reports: unknown option $argument" >&2; exit 2 ;;
        *) dir="$argument" ;;
    esac
done
if [[ -z "$dir" ]]; then
    echo "usage: scripts/check-reports.sh [--install] [--samples] DIR" >&2
    exit 2
fi

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
if [[ -z "$browser" && "$install" == 1 ]]; then
    echo "check-reports: installing chromium (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
    browser=chromium
fi
if [[ -z "$browser" ]]; then
    echo "check-reports: SKIP: Chromium is not installed (run with --install, or apt-get install chromium)"
    exit 0
fi

if [[ "$samples" == 1 ]]; then
    mkdir -p "$dir"
    root="$(cd "$(dirname "$0")/.." && pwd)"
    echo "check-reports: writing sample reports to $dir"
    (cd "$root" && OVERBOOK_REPORT_SAMPLES="$(cd "$dir" && pwd)" swift test --scratch-path "${SCRATCH:-.build}" \
        --filter 'ReportsTests.SampleReports' >/dev/null)
fi

shopt -s nullglob
reports=("$dir"/*.html)
if [[ ${#reports[@]} == 0 ]]; then
    echo "check-reports: no reports in $dir" >&2
    exit 1
fi

# Every kind of report, by its <meta name="overbook-kind">: the samples must hold one of each.
sample_kinds=(run replay batch real)
if [[ "$samples" == 1 ]]; then
    for kind in "${sample_kinds[@]}"; do
        if ! grep -lq "<meta name=\"overbook-kind\" content=\"$kind\">" "${reports[@]}"; then
            echo "FAIL  no sample report of kind '$kind' in $dir" >&2
            exit 1
        fi
    done
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$dir/screenshots"
failures=0
for report in "${reports[@]}"; do
    name="$(basename "$report" .html)"
    path="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
    problems=()

    # Self-contained: no external scripts, styles, images or fonts.
    if grep -Eq '(src|href)="(https?:)?//|<link |@import|url\((["'"'"']?)(https?:)?//' "$report"; then
        problems+=("references an external resource: $(grep -Eo '(src|href)="(https?:)?//[^"]*|<link [^>]*>|@import[^;]*|url\([^)]*//[^)]*\)' "$report" | head -3 | tr '\n' ' ')")
    fi

    log="$work/$name.log"
    status=0
    timeout 120 "$browser" --headless=new --disable-gpu --no-sandbox --hide-scrollbars --enable-logging=stderr --v=0 \
        --user-data-dir="$work/profile" --virtual-time-budget=2000 --dump-dom "file://$path" >"$work/$name.dom" 2>"$log" || status=$?
    if [[ $status != 0 ]]; then problems+=("chromium exited with $status while loading it"); fi
    if grep -q ':CONSOLE' "$log"; then
        problems+=("console: $(grep ':CONSOLE' "$log" | sed -E 's/^\[[^]]*\] //' | head -5 | tr '\n' ' ')")
    fi
    if ! grep -q '</html>' "$work/$name.dom"; then problems+=("the page did not load (no DOM)"); fi

    timeout 120 "$browser" --headless=new --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir="$work/profile" \
        --window-size=1400,2000 --virtual-time-budget=2000 --screenshot="$(cd "$dir/screenshots" && pwd)/$name.png" "file://$path" \
        >/dev/null 2>&1 || problems+=("screenshot failed")

    if [[ ${#problems[@]} == 0 ]]; then
        kind="$(grep -o '<meta name="overbook-kind" content="[a-z]*">' "$report" | head -1 | sed -E 's/.*content="([a-z]*)".*/\1/')"
        echo "ok    ${kind:-?} $report  (screenshot: $dir/screenshots/$name.png)"
    else
        failures=$((failures + 1))
        for problem in "${problems[@]}"; do echo "FAIL  $report: $problem"; done
    fi
done

echo "check-reports: ${#reports[@]} reports, $failures with problems"
[[ $failures == 0 ]]
