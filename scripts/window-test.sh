#!/usr/bin/env bash
# End-to-end test of Herald's real window: the built binary under Xvfb, driven through
# tauri-driver (WebDriver). Usage: scripts/window-test.sh [HERALD_BIN]
# Needs: Xvfb, WebKitWebDriver (webkit2gtk-driver), tauri-driver and tests/window's npm
# packages; scripts/test.sh installs them. Leaves a screenshot in
# $(cargo target dir)/window-test/welcome.png.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=window-test

bin=${1:-$(cargo_target_dir)/debug/herald}
[ -x "$bin" ] || die "$P" "$bin not found: build Herald first (cargo build)"
for tool in Xvfb tauri-driver WebKitWebDriver; do
    command -v "$tool" >/dev/null 2>&1 || die "$P" "'$tool' not found: run scripts/test.sh, which installs it"
done
[ -d tests/window/node_modules ] || die "$P" "tests/window/node_modules missing: npm --prefix tests/window ci"

work=$(mktemp -d "${TMPDIR:-/tmp}/herald-window.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A free display number: the first without an X lock file.
display=99
while [ -e "/tmp/.X${display}-lock" ]; do
    display=$((display + 1))
done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
pids+=($!)

# A free port for the driver, from the kernel.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
native_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

shots="$(cargo_target_dir)/window-test"
mkdir -p "$shots" "$work/data"
export DISPLAY=":$display" HERALD_BIN="$bin" HERALD_DATA_DIR="$work/data" \
    TAURI_DRIVER_PORT="$port" WINDOW_SHOT="$shots/welcome.png"
# The window talks to no keyring yet; keep it away from the caller's session bus anyway.
export HERALD_KEYRING_SERVICE="herald-window-test-$$"

i=0
until [ -e "/tmp/.X11-unix/X$display" ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { cat "$work/xvfb.log" >&2; die "$P" "Xvfb did not start"; }
    sleep 0.1
done

tauri-driver --port "$port" --native-port "$native_port" >"$work/driver.log" 2>&1 &
pids+=($!)
i=0
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { cat "$work/driver.log" >&2; die "$P" "tauri-driver did not listen on $port"; }
    sleep 0.1
done

say "$P" "testing $bin on display :$display"
if ! npm --prefix tests/window test; then
    echo "---- tauri-driver log ----" >&2
    cat "$work/driver.log" >&2
    die "$P" "the window test failed"
fi
say "$P" "ok; screenshot: $WINDOW_SHOT"
