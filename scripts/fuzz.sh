#!/usr/bin/env bash
# Fuzzes herald-core with the cargo-fuzz targets in fuzz/ (see fuzz/README.md): builds each
# target, runs it for SECONDS (default 30) from its seeds (fuzz/seeds/TARGET) and what earlier
# runs found, and prints per target the runs, exec/s, coverage and corpus size. Fails if any
# target crashed, naming the input that did it and how to reproduce it.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     all targets when none are named
#   scripts/fuzz.sh --build-only [TARGET...]             only build them (scripts/test.sh runs
#                                                        this in the background)
#
# FUZZ_SANITIZER=address (default none) builds with AddressSanitizer: slower, for long runs.
# With CI=true the build and the corpus go to ${CARGO_TARGET_DIR:-/var/cache/herald/target}/fuzz,
# outside the clone, so later CI runs reuse the build and start from what earlier runs found.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=fuzz

seconds=30
build_only=0
if [ "${1:-}" = --build-only ]; then
    build_only=1
    shift
elif [ $# -gt 0 ]; then
    seconds=$1
    shift
fi
case $seconds in
'' | *[!0-9]*) die "$P" "SECONDS must be a whole number of seconds, not '$seconds' (usage: scripts/fuzz.sh [SECONDS] [TARGET...])" ;;
esac
[ "$seconds" -gt 0 ] || die "$P" "SECONDS must be at least 1"

command -v cargo-fuzz >/dev/null 2>&1 ||
    die "$P" "cargo-fuzz is missing; install it with: cargo install --locked cargo-fuzz"

# cargo-fuzz passes rustc the unstable flags of sanitizer coverage (-Z...), which a stable
# toolchain accepts only with RUSTC_BOOTSTRAP; the fuzz build has its own target folder, so
# nothing else is built this way.
export RUSTC_BOOTSTRAP=1

fuzz_dir=$HERALD_ROOT/fuzz
case ${CI:-} in
true | 1) target_dir="${CARGO_TARGET_DIR:-/var/cache/herald/target}/fuzz" ;;
*) target_dir="$(cargo_target_dir)/fuzz" ;;
esac
mkdir -p "$target_dir" || die "$P" "cannot create $target_dir"
# The corpus grows across runs; in CI it lives beside the cached build, else in fuzz/corpus
# (git-ignored).
case ${CI:-} in
true | 1) corpus_root=$target_dir/corpus ;;
*) corpus_root=$fuzz_dir/corpus ;;
esac
sanitizer=${FUZZ_SANITIZER:-none}
fuzz_flags=(--fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer" --target-dir "$target_dir")

mapfile -t all < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
    case " ${all[*]} " in
    *" $t "*) ;;
    *) die "$P" "no target '$t' (targets: ${all[*]})" ;;
    esac
done

say "$P" "targets: ${targets[*]}; ${seconds}s each; sanitizer $sanitizer; build in $target_dir"
for t in "${targets[@]}"; do
    say "$P" "building $t"
    cargo fuzz build "${fuzz_flags[@]}" "$t"
done
[ "$build_only" = 0 ] || exit 0

logs=$(mktemp -d "${TMPDIR:-/tmp}/herald-fuzz.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# final_stat NAME LOG : one of libFuzzer's final statistics (-print_final_stats=1).
final_stat() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# field NAME LOG : a field of libFuzzer's last status line ("#N DONE cov: 812 ft: 2990 ...").
field() {
    grep -E '^#[0-9]+' "$2" | tail -n 1 | sed -n "s/.* $1: \([^ ]*\).*/\1/p"
}

# run_target T : fuzzes T for $seconds into its own log and writes its exit status beside it.
run_target() {
    local t=$1 corpus=$corpus_root/$1 rc=0
    mkdir -p "$corpus"
    # New inputs go into the first folder (the corpus); the seeds are only read. A unit that
    # takes over 10 s is reported as a hang, like a crash.
    cargo fuzz run "${fuzz_flags[@]}" "$t" "$corpus" "$fuzz_dir/seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$t.rc"
}

# libFuzzer runs a target on one core: as many targets at once as there are cores, so that
# four 20 s runs take 40 s on two cores instead of 80 s.
parallel=$(nproc 2>/dev/null || echo 1)
say "$P" "running each target for ${seconds}s, $parallel at a time (corpus under $corpus_root)"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
    run_target "$t" &
done
wait

rows=()
failed=()
for t in "${targets[@]}"; do
    corpus=$corpus_root/$t
    log=$logs/$t.log
    rc=$(cat "$logs/$t.rc" 2>/dev/null || echo "?")
    if [ "$rc" != 0 ]; then
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        echo "---- $t: last lines of libFuzzer's output ----" >&2
        tail -n 40 "$log" >&2
        echo "----" >&2
        if [ -n "$artifact" ]; then
            say "$P" "$t CRASHED; the input is $artifact" >&2
            # The same flags as this build, so cargo-fuzz reuses it instead of building again.
            say "$P" "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer --target-dir $target_dir $t $artifact" >&2
            say "$P" "minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer $sanitizer --target-dir $target_dir $t $artifact" >&2
        else
            say "$P" "$t failed (exit $rc) without writing an input; see the output above" >&2
        fi
        failed+=("$t")
        continue
    fi
    runs=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    cov=$(field cov "$log")
    ft=$(field ft "$log")
    files=$(find "$corpus" -type f | wc -l)
    rows+=("$(printf '%-12s %10s %8s %6s %7s %7s' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files")")
done

if [ ${#rows[@]} -gt 0 ]; then
    echo
    printf '%-12s %10s %8s %6s %7s %7s\n' target runs exec/s cov ft corpus
    printf '%s\n' "${rows[@]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
    die "$P" "crashed: ${failed[*]} (inputs in fuzz/artifacts/)"
fi
say "$P" "no crash in ${#targets[@]} target(s), ${seconds}s each"
