#!/usr/bin/env bash
# THE test command (README, and CI through .ci/run): sets up what is missing, then runs every
# check in order and stops at the first failure. A summary of the time each stage took is
# printed at the end, pass or fail.
#
#   scripts/test.sh              all stages
#   scripts/test.sh STAGE...     setup, then only the named stages (see --list)
#   scripts/test.sh --list       the stage names, in order
#
# With CI=true, cargo builds into ${CARGO_TARGET_DIR:-/var/cache/herald/target}, outside the
# clone, so that later CI runs on the same machine reuse the build.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path

P="test"

# Runs a command inside a private D-Bus session with an unlocked gnome-keyring.
in_keyring() {
    scripts/with-keyring.sh "$@"
}

# ------------------------------------------------------------------------------------------
# Stages. Each stage is a function stage_<name> (dashes in the name become underscores) and
# is listed in STAGES below, in the order they run. To add one (UI unit tests with vitest, the
# WebDriver end-to-end tests of the real window, browser tests of the invitee's pages), write
# its function here and add its name to STAGES. A stage fails by failing a command (set -e):
# no `if`, `||` or `&&` around the commands whose failure must stop the run.
# ------------------------------------------------------------------------------------------

# System packages, toolchains, the UI's npm packages and ui/dist (see scripts/setup.sh).
stage_setup() {
    bash scripts/setup.sh --tests
}

# Every shell script in the repository.
stage_shellcheck() {
    local files=()
    mapfile -t files < <(
        find . \( -path ./.git -o -path ./target -o -path '*/node_modules' -o -path ./ui/dist \) \
            -prune -o -type f -name '*.sh' -print | sort
    )
    files+=(.ci/run)
    echo "shellcheck ${files[*]}"
    shellcheck -x "${files[@]}"
}

# The owner's window: type-check and bundle ui/ into ui/dist (the binary embeds it).
stage_ui_build() {
    npm --prefix ui run build
}

# The window's components and its typed backend adapter, with the IPC mocked (Vitest).
stage_ui_test() {
    npm --prefix ui test
}

stage_rust_fmt() {
    in_keyring cargo fmt --all --check
}

# Cargo features for clippy and the tests: herald-core's tests about the keyring itself run on
# the OS keyring too, not only on the in-memory one every other core and site test uses.
RUST_TEST_FEATURES=(--features herald-core/real-keyring-tests)

# cargo with clippy's lints on the workspace's crates as they are built for the tests: what
# `cargo clippy -- -D warnings` does, but through a real build. `cargo clippy` runs `cargo check`
# with clippy-driver (rustc plus clippy's lints) as the compiler of the workspace's crates, so its
# dependencies are only checked, and the tests then built them all again (a cold run on
# 2026-12-07: clippy 9 min, the tests' build 7.5 min; together now 14.3 min). Given the same
# wrapper and arguments (CLIPPY_ARGS is how cargo-clippy hands clippy-driver what follows
# `--`), a `cargo test` lints Herald's crates as it compiles them and builds each dependency
# once. Plain rustc still builds every dependency, and the release.
#
# Sets LINTED_CARGO to that command (an array, so that scripts/with-keyring.sh can run it).
linted_cargo() {
    local driver
    driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) ||
        die "$P" "clippy-driver not found: rustup component add clippy"
    LINTED_CARGO=(env "RUSTC_WORKSPACE_WRAPPER=$driver"
        "CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" cargo)
}

# Every target (libraries, binaries, tests, benches, examples) built for the tests, with clippy's
# lints as warnings that fail the build: `cargo clippy --all-targets -- -D warnings`, with the
# build rust-test then runs.
stage_rust_clippy() {
    linted_cargo
    in_keyring "${LINTED_CARGO[@]}" test --workspace --all-targets --no-run --locked "${RUST_TEST_FEATURES[@]}"
}

# Unit and integration tests of every crate, inside a real keyring: the CLI tests run the
# binary, which always uses the OS keyring, and the real-keyring tests need it. Built the way
# rust-clippy built them, so nothing is compiled again.
stage_rust_test() {
    linted_cargo
    in_keyring "${LINTED_CARGO[@]}" test --workspace --locked "${RUST_TEST_FEATURES[@]}"
}

# The debug binary exactly as rust-test builds it for the integration tests, with the same
# command: a plain `cargo build` has other features (resolver 2 leaves dev-dependencies' features
# out of it), so it would build Herald and much of the tree a second time. Prints its path.
test_binary() {
    linted_cargo
    "${LINTED_CARGO[@]}" test --workspace --locked "${RUST_TEST_FEATURES[@]}" --no-run >&2
    echo "$(cargo_target_dir)/debug/herald"
}

# The real window under Xvfb through tauri-driver, from first launch to an accepted invitation
# (real keyring, smtp-sink, chromium): the binary rust-test built (or builds now).
stage_window() {
    local bin
    bin=$(test_binary)
    bash scripts/window-test.sh "$bin"
}

# The invitee's side in a real browser: a mail received by smtp-sink, its link opened in
# headless chromium, Accept pressed, the CLI asked what happened.
stage_site_browser() {
    local bin
    bin=$(test_binary)
    bash scripts/site-browser-test.sh "$bin"
}

# The fuzz targets (fuzz/: token decode and verify, address parsing, list and CSV import, mail
# rendering), a short run each from their seeds and what earlier CI runs found; the long run is
# in fuzz/README.md.
stage_fuzz() {
    bash scripts/fuzz.sh 20
}

# The installers: the release workflow passes actionlint; the .deb and .rpm are built (release,
# reusing CARGO_TARGET_DIR), checked, the .deb installed, run as a server (keyring, serve,
# health check, SIGTERM) and purged without leftovers; the example units and proxy configs
# validate. See scripts/package-test.sh.
stage_package() {
    bash scripts/lint-workflows.sh
    bash scripts/package-test.sh
}

# The benchmarks in their quick form (scripts/bench.sh --quick): every section runs end to end,
# builds, servers, references and report, so the one command docs/BENCHMARKS.md gives cannot
# rot. The figures are not kept (CI shares its machine) and nothing is asserted about them.
# It reuses package's release build; the blank Tauri app is built the first time only.
stage_bench_smoke() {
    bash scripts/bench.sh --quick
}

STAGES=(setup shellcheck ui-build ui-test rust-fmt rust-clippy rust-test fuzz window site-browser package bench-smoke)

# ------------------------------------------------------------------------------------------
# Runner
# ------------------------------------------------------------------------------------------

if [ "${1:-}" = --list ]; then
    printf '%s\n' "${STAGES[@]}"
    exit 0
fi

selected=()
if [ "$#" -eq 0 ]; then
    selected=("${STAGES[@]}")
else
    # setup always runs first; the named stages follow in the order given.
    selected=(setup)
    for name in "$@"; do
        case " ${STAGES[*]} " in
        *" $name "*) [ "$name" = setup ] || selected+=("$name") ;;
        *) die "$P" "no stage '$name' (stages: ${STAGES[*]})" ;;
        esac
    done
fi

case ${CI:-} in
true | 1)
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/herald/target}"
    mkdir -p "$CARGO_TARGET_DIR" ||
        die "$P" "cannot create CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
    ;;
esac

fmt_duration() {
    local s=$1
    if [ "$s" -ge 60 ]; then
        printf '%dm%02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}

done_names=()
done_times=()
current=""
current_start=0
run_start=$(date +%s)

summary() {
    local rc=$?
    local now i
    now=$(date +%s)
    echo
    echo "==== summary ===="
    for i in "${!done_names[@]}"; do
        printf '  %-14s %8s  ok\n' "${done_names[$i]}" "$(fmt_duration "${done_times[$i]}")"
    done
    if [ -n "$current" ]; then
        printf '  %-14s %8s  FAILED\n' "$current" "$(fmt_duration $((now - current_start)))"
        say "$P" "FAILED in stage '$current' (exit $rc) after $(fmt_duration $((now - run_start)))"
    elif [ "$rc" -eq 0 ]; then
        say "$P" "all ${#done_names[@]} stages ok in $(fmt_duration $((now - run_start)))"
    fi
}
trap summary EXIT

say "$P" "stages: ${selected[*]}${CARGO_TARGET_DIR:+ (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)}"
n=0
for name in "${selected[@]}"; do
    n=$((n + 1))
    echo
    echo "==== [$n/${#selected[@]}] $name ===="
    current=$name
    current_start=$(date +%s)
    "stage_${name//-/_}"
    done_names+=("$name")
    done_times+=($(($(date +%s) - current_start)))
    current=""
done
