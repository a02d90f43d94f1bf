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

# The two other big builds, the fuzz targets' and the release one (package), take about 14
# minutes of a cold run with both cores busy, while rust-test, window and site-browser mostly
# wait on sockets, sleeps and a browser. When a run has all of these stages, both builds start
# in the background at the lowest priority (nice 19) as rust-test begins, one after the other,
# and use what the tests leave idle; fuzz and package then wait for them. The tests keep the
# CPU whenever they want it, and cargo locks target/debug and target/release apart, so the
# tests' own builds are not held up. A failed build fails the stage that needs it, with its
# output.
prebuild_dir=""
prebuild_pid=""

selected_has() {
    case " ${selected[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

start_prebuild() {
    selected_has fuzz && selected_has package || return 0
    prebuild_dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-prebuild.XXXXXX")
    say "$P" "building the fuzz targets, then the release, in the background (logs in $prebuild_dir)"
    (
        set +e
        # Each status is written whole (then renamed) so that a waiting stage never reads half.
        nice -n 19 bash scripts/fuzz.sh --build-only >"$prebuild_dir/fuzz.log" 2>&1
        echo $? >"$prebuild_dir/fuzz.tmp" && mv "$prebuild_dir/fuzz.tmp" "$prebuild_dir/fuzz.rc"
        nice -n 19 bash scripts/package-test.sh --build-only >"$prebuild_dir/release.log" 2>&1
        echo $? >"$prebuild_dir/release.tmp" && mv "$prebuild_dir/release.tmp" "$prebuild_dir/release.rc"
    ) &
    prebuild_pid=$!
}

# await_prebuild NAME: waits for the background build NAME (fuzz or release), if one was
# started; fails with its output if it failed. Returns 1 when none was started.
await_prebuild() {
    local name=$1 started rc
    [ -n "$prebuild_dir" ] || return 1
    started=$(date +%s)
    [ -e "$prebuild_dir/$name.rc" ] || say "$P" "waiting for the $name build running in the background"
    while [ ! -e "$prebuild_dir/$name.rc" ]; do
        kill -0 "$prebuild_pid" 2>/dev/null ||
            { cat "$prebuild_dir/$name.log" 2>/dev/null; die "$P" "the background $name build stopped without a status"; }
        sleep 1
    done
    rc=$(cat "$prebuild_dir/$name.rc")
    if [ "$rc" != 0 ]; then
        cat "$prebuild_dir/$name.log"
        die "$P" "the $name build (in the background) failed (exit $rc)"
    fi
    tail -n 4 "$prebuild_dir/$name.log"
    say "$P" "the $name build was ready after waiting $(($(date +%s) - started)) s"
}

stop_prebuild() {
    if [ -n "$prebuild_pid" ] && kill -0 "$prebuild_pid" 2>/dev/null; then
        pkill -TERM -P "$prebuild_pid" 2>/dev/null || true
        kill -TERM "$prebuild_pid" 2>/dev/null || true
    fi
    [ -z "$prebuild_dir" ] || rm -rf "$prebuild_dir"
}

# Unit and integration tests of every crate, inside a real keyring: the CLI tests run the
# binary, which always uses the OS keyring, and the real-keyring tests need it. Built the way
# rust-clippy built them, so nothing is compiled again.
stage_rust_test() {
    start_prebuild
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
    await_prebuild fuzz || true
    bash scripts/fuzz.sh 20
}

# The installers: the release workflow passes actionlint; the .deb and .rpm are built (release,
# reusing CARGO_TARGET_DIR), checked, the .deb installed, run as a server (keyring, serve,
# health check, SIGTERM) and purged without leftovers; the example units and proxy configs
# validate. See scripts/package-test.sh.
stage_package() {
    bash scripts/lint-workflows.sh
    if await_prebuild release; then
        bash scripts/package-test.sh --no-build
    else
        bash scripts/package-test.sh
    fi
}

# The benchmarks in their quick form (scripts/bench.sh --quick): every section runs end to end,
# builds, servers, references and report, so the one command docs/BENCHMARKS.md gives cannot
# rot. The figures are not kept (CI shares its machine) and nothing is asserted about them.
# It reuses package's release build; the blank Tauri app is built the first time only.
stage_bench_smoke() {
    bash scripts/bench.sh --quick
}

# fuzz comes after window and site-browser: its build (and package's) runs in the background
# meanwhile (see start_prebuild).
STAGES=(setup shellcheck ui-build ui-test rust-fmt rust-clippy rust-test window site-browser fuzz package bench-smoke)

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
    stop_prebuild
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
