#!/usr/bin/env bash
# The app as a user meets it, beside the floor for any Tauri 2 app (benches/blank-tauri: an
# empty window built the same way, same Tauri, same release profile, same bundler):
#   start     from asking tauri-driver for the window to the window being usable: for Herald,
#             the status table showing its first rows (aria-busy false, rows painted) out of
#             ROWS invitations, and out of none; for the blank app, its page's heading. The
#             first run of each follows a drop of the page cache (cold, when this runs as
#             root), the others are warm; WebDriver's own start is in every figure alike.
#   memory    after 5 s idle with the window open: RSS and PSS of the app's process and all
#             its descendants (WebKit's web and network processes), summed
#   installer the .deb of each, and its installed size
# Usage: scripts/bench-app.sh [RUNS] [ROWS]      (default 5 runs, 100000 rows)
#        scripts/bench-app.sh --build-only      only the builds (scripts/bench.sh does this first)
# Builds both apps with `tauri build --bundles deb` (release) unless HERALD_BENCH_PREBUILT=1
# says they are built already. Runs under Xvfb, in a private keyring.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=bench-app

blank_dir=$HERALD_ROOT/benches/blank-tauri

build_only=0
if [ "${1:-}" = --build-only ]; then
    build_only=1
    shift
fi

if [ "${HERALD_BENCH_INSIDE:-}" != 1 ]; then
    runs=${1:-5}
    rows=${2:-100000}
    case $runs$rows in
    *[!0-9]*) die "$P" "RUNS and ROWS must be numbers (got '$runs' '$rows')" ;;
    esac
    [ "$runs" -ge 1 ] || die "$P" "RUNS must be at least 1"
    for tool in Xvfb tauri-driver WebKitWebDriver /usr/sbin/smtp-sink node dpkg-deb; do
        command -v "$tool" >/dev/null 2>&1 || die "$P" "'$tool' not found: run scripts/setup.sh --tests"
    done
    [ -d tests/window/node_modules ] || die "$P" "tests/window/node_modules missing: run scripts/setup.sh --tests"
    target=$(cargo_target_dir)
    if [ "${HERALD_BENCH_PREBUILT:-}" != 1 ]; then
        [ -x ui/node_modules/.bin/tauri ] || die "$P" "the Tauri CLI is not in ui/node_modules: run scripts/setup.sh"
        say "$P" "building the UI, Herald and the blank app (release, with their .deb; minutes the first time)"
        # Only when ui/ changed, and not again by Tauri (see build_ui_if_stale).
        build_ui_if_stale "$P"
        # Both binaries in one cargo run: the blank app is a workspace member, so it gets the
        # same dependency features as Herald and reuses every crate Herald's build compiled
        # (on its own it would rebuild the whole Tauri stack, minutes in a cold CI). The same
        # command and --config as scripts/package-test.sh, so Herald itself is fresh after it.
        ui/node_modules/.bin/tauri build --ci --bundles deb \
            --config '{"build":{"beforeBuildCommand":null}}' -- --locked -p herald -p blank-tauri
        (cd "$blank_dir" && CARGO_TARGET_DIR=$target "$HERALD_ROOT/ui/node_modules/.bin/tauri" \
            bundle --ci --bundles deb)
    fi
    cargo build --release --locked --quiet "${BENCH_PACKAGES[@]}" --example seed_team
    [ "$build_only" = 0 ] || exit 0
    HERALD_BENCH_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$runs" "$rows" "$target"
fi

runs=$1
rows=$2
target=$3
herald=$target/release/herald
blank=$target/release/blank-tauri
seed=$target/release/examples/seed_team
for f in "$herald" "$blank" "$seed"; do
    [ -x "$f" ] || die "$P" "$f not found: run without HERALD_BENCH_PREBUILT=1 to build it"
done
herald_deb=$(find "$target/release/bundle/deb" -maxdepth 1 -name 'Herald_*.deb' -print -quit 2>/dev/null || true)
blank_deb=$(find "$target/release/bundle/deb" -maxdepth 1 -name 'blank-tauri_*.deb' -print -quit 2>/dev/null || true)
if [ ! -f "$herald_deb" ] || [ ! -f "$blank_deb" ]; then
    die "$P" "the .deb files are missing from $target/release/bundle/deb: run without HERALD_BENCH_PREBUILT=1"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench-app.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

display=99
while [ -e "/tmp/.X${display}-lock" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$display" ] || die "$P" "Xvfb did not start"
export DISPLAY=":$display" XDG_CONFIG_HOME="$work/config"

sink_port=$(free_port)
start_smtp_sink "$work/mail" "$sink_port" "$work/sink.log"
pids+=("$SMTP_SINK_PID")
wait_port "$sink_port" smtp-sink "$work/sink.log"

# Two data folders: a team just set up (no invitations) and one with ROWS of history.
export HERALD_KEYRING_SERVICE="herald-bench-app-$$"
seed_folder() {
    local dir=$1 n=$2
    say "$P" "seeding $n invitations into a data folder"
    "$seed" "$dir" "$n" "$(free_port)" "$sink_port"
}
seed_folder "$work/empty" 0
HERALD_KEYRING_SERVICE="herald-bench-app-big-$$" seed_folder "$work/big" "$rows"

drop_caches() {
    sync
    if [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
        echo cold
    else
        echo warm
    fi
}

# The status table, done loading, with rows painted (or its empty state for a new team); the
# value is the table's row count, so the report can show what was on screen.
herald_ready='(() => {
  const t = document.querySelector("[role=table][aria-busy=false]");
  if (t && document.querySelector(".vrow")) return "rows:" + (Number(t.getAttribute("aria-rowcount")) - 1);
  return document.querySelector(".table-card .state") ? "empty" : null;
})()'
blank_ready='document.getElementById("ready") ? "page" : null'

# measure NAME BINARY READY_JS [ENV=VALUE...]: RUNS starts through a tauri-driver of its own,
# which hands the environment on to the app.
measure() {
    local name=$1 bin=$2 ready=$3 run kind port driver
    shift 3
    port=$(free_port)
    env "$@" tauri-driver --port "$port" --native-port "$(free_port)" >"$work/driver.log" 2>&1 &
    driver=$!
    pids+=("$driver")
    wait_port "$port" tauri-driver "$work/driver.log"
    for ((run = 1; run <= runs; run++)); do
        kind=warm
        [ "$run" -eq 1 ] && kind=$(drop_caches)
        if ! TAURI_DRIVER_PORT="$port" node tests/window/measure-start.mjs "$bin" "$ready" 5 \
            >"$work/run.json" 2>"$work/run.err"; then
            cat "$work/run.err" >&2
            tail -30 "$work/driver.log" >&2
            die "$P" "$name: run $run failed"
        fi
        printf '{"app":"%s","kind":"%s","run":%d,"m":%s}\n' "$name" "$kind" "$run" "$(cat "$work/run.json")" \
            >>"$work/results.jsonl"
        say "$P" "$name run $run ($kind): $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("usable in %d ms, %d MiB PSS" % (m["ready_ms"], m["pss_kib"] // 1024))' "$work/run.json")"
        # A window that outlived its session would skew the next run.
        pkill -f "^$bin" 2>/dev/null || true
        sleep 1
    done
    kill "$driver" 2>/dev/null || true
    wait "$driver" 2>/dev/null || true
}

measure "blank Tauri 2" "$blank" "$blank_ready"
measure "Herald, new team" "$herald" "$herald_ready" HERALD_DATA_DIR="$work/empty"
measure "Herald, $rows invitations" "$herald" "$herald_ready" HERALD_DATA_DIR="$work/big" \
    HERALD_KEYRING_SERVICE="herald-bench-app-big-$$"

python3 - "$work/results.jsonl" "$herald_deb" "$blank_deb" "$runs" <<'PY'
import json, os, statistics, subprocess, sys

results, herald_deb, blank_deb, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
by_app = {}
for line in open(results):
    r = json.loads(line)
    by_app.setdefault(r["app"], []).append(r)

def mib(kib):
    return f"{kib / 1024:.0f} MiB"

print()
print(f"app benchmark: {runs} start(s) each under Xvfb through tauri-driver (WebDriver's own start is"
      f" in every figure); memory after 5 s idle, all processes of the app")
print(f"  {'':34} {'cold start':>11} {'warm (median)':>14} {'range':>14}  {'PSS':>8} {'RSS':>8}  processes")
floor = None
for app, rs in by_app.items():
    cold = [r["m"]["ready_ms"] for r in rs if r["kind"] == "cold"]
    warm = [r["m"]["ready_ms"] for r in rs if r["kind"] == "warm"] or [r["m"]["ready_ms"] for r in rs]
    pss = statistics.median(r["m"]["pss_kib"] for r in rs)
    rss = statistics.median(r["m"]["rss_kib"] for r in rs)
    names = sorted({p["name"] for p in rs[-1]["m"]["processes"]})
    shown = rs[-1]["m"]["ready_value"]
    print(f"  {app:<34} {(str(cold[0]) + ' ms') if cold else '(not root)':>11} {statistics.median(warm):>11.0f} ms"
          f" {min(warm):>6}-{max(warm):<5} ms  {mib(pss):>8} {mib(rss):>8}  {len(rs[-1]['m']['processes'])}: {', '.join(names)}"
          f"   [{shown}]")
    if floor is None:
        floor = (statistics.median(warm), pss)
    else:
        print(f"  {'':34} {'':11} {statistics.median(warm) - floor[0]:>+11.0f} ms {'':14}  {mib(pss - floor[1]):>8}"
              f"   (above the blank app)")
        start, memory = statistics.median(warm) / floor[0], pss / floor[1]
        print(f"  {'':34} aims (#17): warm start at most 1.25x the blank app's: {start:.2f}x"
              f" ({'met' if start <= 1.25 else 'NOT met'}); memory (PSS) at most 1.15x: {memory:.2f}x"
              f" ({'met' if memory <= 1.15 else 'NOT met'})")

# The page's own share of each warm start: from the window asking for its page to usable. The
# time before it (the process, WebKit's processes, the webview) varies from run to run on a
# small machine far more than what the page does, so this median is the steadier figure to
# compare the app's own work by.
print("  from the page requested to usable (median of the warm starts; the app's own page and calls)")
for app, rs in by_app.items():
    spans = []
    for r in rs:
        asked = [s["at"] for s in r["m"].get("steps", []) if s["step"] == "page requested"]
        if r["kind"] == "warm" and asked:
            spans.append(r["m"]["ready_ms"] - asked[0])
    if spans:
        print(f"    {app:<32} {statistics.median(spans):>6.0f} ms   ({min(spans)}-{max(spans)} ms)")

# Where the time of the last (warm) start of each went, on the window's own clock: its page
# requested, received and run, its first paint, and the app's first calls to its Rust side.
print("  where the last start's time went, in ms from asking for the window")
for app, rs in by_app.items():
    m = rs[-1]["m"]
    steps = [f"{s['step']} {s['at']}" + (f"-{s['until']}" if "until" in s else "") for s in m.get("steps", [])]
    print(f"    {app}: {', '.join(steps + ['usable ' + str(m['ready_ms'])])}")

def deb(path):
    size = os.path.getsize(path)
    installed = int(subprocess.run(["dpkg-deb", "-f", path, "Installed-Size"], capture_output=True,
                                   text=True, check=True).stdout.strip() or 0)
    return size, installed

print("  installer (.deb)")
hs, hi = deb(herald_deb)
bs, bi = deb(blank_deb)
print(f"    {os.path.basename(herald_deb):<40} {hs / 2**20:6.2f} MiB  (installed {hi / 1024:.1f} MiB)")
print(f"    {os.path.basename(blank_deb):<40} {bs / 2**20:6.2f} MiB  (installed {bi / 1024:.1f} MiB)   the floor")
print(f"    {'Herald above the floor':<40} {(hs - bs) / 2**20:+6.2f} MiB")
print(f"    aims (#17): at most 2x the blank app's: .deb {hs / bs:.2f}x ({'met' if hs <= 2 * bs else 'NOT met'}),"
      f" installed {hi / bi:.2f}x ({'met' if hi <= 2 * bi else 'NOT met'})")
PY
