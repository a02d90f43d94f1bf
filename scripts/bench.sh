#!/usr/bin/env bash
# Every benchmark, each beside its reference measured in the same run (docs/BENCHMARKS.md says
# how each works and keeps the latest figures):
#   tokens   mint and verify on one core, beside the bare HMAC-SHA256 of the same length
#            (RustCrypto in-process, and `openssl speed -hmac sha256` on the machine's OpenSSL)
#   listing  one page of the status table out of 100,000 invitations (store query)
#   site     the confirmation site under wrk: link page and accept, beside its health check
#   outbox   bulk sending to smtp-sink, beside Postfix's smtp-source against the same sink
#   app      start to a usable window (and with 100,000 invitations), idle memory, installer
#            size, beside a blank Tauri 2 app built the same way
#   remote   the owner API: a page of 100,000 invitations and an event reaching a paired
#            client, beside the same in-process
# Usage: scripts/bench.sh [--quick] [SECTION...]
#   --quick   smaller sizes and fewer runs (minutes, not a quarter of an hour): for checking
#             that the benchmarks work, not for figures to keep
# The machine, the commit and every figure go to the terminal and to
# $(cargo target dir)/bench/report-<UTC time>.txt.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=bench

SECTIONS=(tokens listing site outbox app remote)
quick=0
selected=()
for arg in "$@"; do
    case $arg in
    --quick) quick=1 ;;
    -h | --help)
        sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        case " ${SECTIONS[*]} " in
        *" $arg "*) selected+=("$arg") ;;
        *) die "$P" "no section '$arg' (sections: ${SECTIONS[*]})" ;;
        esac
        ;;
    esac
done
[ "${#selected[@]}" -gt 0 ] || selected=("${SECTIONS[@]}")

if [ "$quick" = 1 ]; then
    site_n=2000 outbox_n=500 app_runs=2 app_rows=20000 listing_rows=20000 remote_rows=5000 remote_samples=100
    export HERALD_BENCH_DURATION=3s
    criterion=(--quick)
else
    site_n=20000 outbox_n=2000 app_runs=5 app_rows=100000 listing_rows=100000 remote_rows=100000 remote_samples=500
    criterion=()
fi

target=$(cargo_target_dir)
mkdir -p "$target/bench"
report=$target/bench/report-$(date -u +%Y%m%dT%H%M%SZ).txt

wants() { case " ${selected[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

{
    echo "Herald benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -n "$(git status --porcelain 2>/dev/null)" ] && echo ' (with local changes)')"
    echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
    echo "         $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr), $(rustc --version | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2)"
    [ "$quick" = 1 ] && echo "QUICK RUN: small sizes, for checking the benchmarks work; not figures to keep"
    echo
} | tee "$report"

# The release builds the sections share: Herald's binary and .deb (tauri build) and the blank
# app's, built once here so that no section builds on its own.
if wants site || wants outbox || wants app; then
    say "$P" "building the release binaries and installers (minutes the first time)"
    scripts/bench-app.sh --build-only
fi

section() {
    echo
    echo "==== $1 ===="
}

run_section() {
    case $1 in
    tokens)
        section "tokens: one core"
        cargo bench --locked "${BENCH_PACKAGES[@]}" --bench tokens -- "${criterion[@]}" >"$target/bench/tokens.log" 2>&1 ||
            { tail -30 "$target/bench/tokens.log"; die "$P" "the tokens benchmark failed"; }
        local line bytes mint verify raw openssl_line openssl_kbps openssl_per_s
        line=$(grep '^tokens-figures ' "$target/bench/tokens.log") ||
            die "$P" "the tokens benchmark printed no figures (see $target/bench/tokens.log)"
        bytes=$(sed -n 's/.*mac_input_bytes=\([0-9]*\).*/\1/p' <<<"$line")
        mint=$(sed -n 's/.*mint_per_s=\([0-9]*\).*/\1/p' <<<"$line")
        verify=$(sed -n 's/.*verify_per_s=\([0-9]*\).*/\1/p' <<<"$line")
        raw=$(sed -n 's/.*raw_hmac_per_s=\([0-9]*\).*/\1/p' <<<"$line")
        # openssl prints thousands of bytes per second for blocks of -bytes; one process is one
        # core, like the benchmark.
        openssl_line=$(openssl speed -seconds 3 -bytes "$bytes" -hmac sha256 2>/dev/null | grep '^hmac(sha256)')
        openssl_kbps=$(awk '{sub(/k$/, "", $2); print $2}' <<<"$openssl_line")
        openssl_per_s=$(awk -v k="$openssl_kbps" -v b="$bytes" 'BEGIN {printf "%.0f", k * 1000 / b}')
        awk -v b="$bytes" -v m="$mint" -v v="$verify" -v r="$raw" -v o="$openssl_per_s" 'BEGIN {
            printf "  the MAC covers %d bytes per token\n", b
            printf "  %-52s %12s %9s %s\n", "", "per second", "ns each", "of the OpenSSL limit"
            printf "  %-52s %12.0f %9.0f %6.0f%%\n", "mint (MAC + base64)", m, 1e9 / m, 100 * m / o
            printf "  %-52s %12.0f %9.0f %6.0f%%\n", "parse + verify (base64, MAC, constant-time compare)", v, 1e9 / v, 100 * v / o
            printf "  %-52s %12.0f %9.0f %6.0f%%\n", "reference: HMAC-SHA256, RustCrypto, key prepared", r, 1e9 / r, 100 * r / o
            printf "  %-52s %12.0f %9.0f %6s\n", "reference: openssl speed -hmac sha256 (the limit)", o, 1e9 / o, "100%"
        }'
        grep '^summary:' "$target/bench/tokens.log" | sed 's/^/  /'
        ;;
    listing)
        section "listing: the status table's store query"
        HERALD_BENCH_ROWS=$listing_rows scripts/with-keyring.sh cargo bench --locked "${BENCH_PACKAGES[@]}" --bench listing -- "${criterion[@]}" \
            >"$target/bench/listing.log" 2>&1 ||
            { tail -30 "$target/bench/listing.log"; die "$P" "the listing benchmark failed"; }
        sed -n '/^listing:/,$p' "$target/bench/listing.log" | grep -v '^$' | sed 's/^/  /'
        grep '^made ' "$target/bench/listing.log" | sed 's/^/  (/; s/$/)/'
        ;;
    site)
        section "site: the confirmation site under wrk"
        scripts/bench-site.sh "$site_n" "$target/release/herald"
        ;;
    outbox)
        section "outbox: bulk sending"
        scripts/bench-outbox.sh "$outbox_n" "$target/release/herald"
        ;;
    app)
        section "app: start, memory, installer"
        HERALD_BENCH_PREBUILT=1 scripts/bench-app.sh "$app_runs" "$app_rows"
        ;;
    remote)
        section "remote: the owner API beside in-process"
        HERALD_BENCH_ROWS=$remote_rows HERALD_BENCH_SAMPLES=$remote_samples \
            cargo bench --locked "${BENCH_PACKAGES[@]}" --bench remote >"$target/bench/remote.log" 2>&1 ||
            { tail -30 "$target/bench/remote.log"; die "$P" "the remote benchmark failed"; }
        sed -n '/^remote:/,$p' "$target/bench/remote.log" | grep -v '^$' | sed 's/^/  /'
        grep '^made ' "$target/bench/remote.log" | sed 's/^/  (/; s/$/)/'
        ;;
    esac
}

# Each section's wall time, builds included, so that the quick run CI makes can be kept short.
for s in "${selected[@]}"; do
    started=$(date +%s)
    if ! run_section "$s" 2>&1 | tee -a "$report"; then
        die "$P" "section $s failed; the report so far is $report"
    fi
    echo "  (section $s: $(($(date +%s) - started)) s)" | tee -a "$report"
done
echo
say "$P" "report: $report"
