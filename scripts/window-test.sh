#!/usr/bin/env bash
# End-to-end test of Herald's real window: the built binary under Xvfb, driven through
# tauri-driver (WebDriver over WebKitWebDriver), with a real keyring (gnome-keyring in a
# private D-Bus session), a real SMTP server (Postfix's smtp-sink) and a real browser for the
# invitee (Debian's chromium). From first launch: the setup, an invitation, the mail, Accept in
# chromium, and the row turning "accepted" in the window without a reload; then the main
# screens are photographed in light and dark. Last, a second window on a fresh data folder
# pairs with a `herald serve` of its own (tests/window/connected.test.mjs).
# Usage: scripts/window-test.sh [HERALD_BIN]   (builds the debug binary if none is given)
# Screenshots: $(cargo target dir)/window-test/*.png; HERALD_SHOTS=DIR puts them elsewhere
# (scripts/screenshots.sh uses that to refresh docs/screenshots).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=window-test

if [ "${HERALD_WINDOW_TEST_INSIDE:-}" != 1 ]; then
    bin=${1:-}
    if [ -z "$bin" ]; then
        say "$P" "building Herald (debug)"
        cargo build --locked --quiet
        bin="$(cargo_target_dir)/debug/herald"
    fi
    [ -x "$bin" ] || die "$P" "$bin not found: build Herald first (cargo build)"
    for tool in Xvfb tauri-driver WebKitWebDriver /usr/sbin/smtp-sink /usr/bin/chromium node dbus-monitor; do
        command -v "$tool" >/dev/null 2>&1 || die "$P" "'$tool' not found: run scripts/setup.sh --tests, which installs it"
    done
    [ -d tests/window/node_modules ] || die "$P" "tests/window/node_modules missing: npm --prefix tests/window ci"
    HERALD_WINDOW_TEST_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$bin"
fi

bin=$1
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
i=0
until [ -e "/tmp/.X11-unix/X$display" ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { cat "$work/xvfb.log" >&2; die "$P" "Xvfb did not start"; }
    sleep 0.1
done

sink_port=$(free_port)
start_smtp_sink "$work/mail" "$sink_port" "$work/sink.log"
pids+=("$SMTP_SINK_PID")
wait_port "$sink_port" smtp-sink "$work/sink.log"

# Desktop notifications are D-Bus calls to org.freedesktop.Notifications on the session bus:
# record them (no notification daemon is needed to see the call go out).
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications'" \
    >"$work/notifications.log" 2>&1 &
pids+=($!)

shots=${HERALD_SHOTS:-$(cargo_target_dir)/window-test}
site_port=$(free_port)
mkdir -p "$shots" "$work/data" "$work/config"
# The window's own files (window size and position) go to a private config folder too.
export DISPLAY=":$display" HERALD_BIN="$bin" HERALD_DATA_DIR="$work/data" \
    HERALD_KEYRING_SERVICE="herald-window-test-$$" XDG_CONFIG_HOME="$work/config" \
    HERALD_MAIL_DIR="$work/mail" HERALD_SINK_PORT="$sink_port" HERALD_SITE_PORT="$site_port" \
    HERALD_SHOTS="$shots" HERALD_NOTIFICATIONS_LOG="$work/notifications.log"

# run_tests FILE [ENV=VALUE...] : one test file of tests/window against a fresh tauri-driver
# (on a free port, with the given environment, which the app inherits).
run_tests() {
    local file=$1
    shift
    local port native_port driver
    port=$(free_port)
    native_port=$(free_port)
    env "$@" tauri-driver --port "$port" --native-port "$native_port" >"$work/driver-$file.log" 2>&1 &
    driver=$!
    pids+=("$driver")
    wait_port "$port" tauri-driver "$work/driver-$file.log"
    if ! TAURI_DRIVER_PORT=$port node --test --test-reporter=spec "tests/window/$file"; then
        echo "---- tauri-driver log ($file) ----" >&2
        tail -50 "$work/driver-$file.log" >&2
        die "$P" "tests/window/$file failed"
    fi
    kill "$driver" 2>/dev/null || true
    wait "$driver" 2>/dev/null || true
}

say "$P" "testing $bin on display :$display (smtp-sink on 127.0.0.1:$sink_port)"
run_tests first-run.test.mjs
# The same data folder in dark mode: WebKitGTK follows the GTK theme's dark variant.
run_tests screens-dark.test.mjs GTK_THEME=Adwaita:dark

# An always-on Herald for the connected window: its own data folder, keyring service and
# smtp-sink; the test starts and stops `herald serve` itself.
server_sink_port=$(free_port)
start_smtp_sink "$work/server-mail" "$server_sink_port" "$work/server-sink.log"
pids+=("$SMTP_SINK_PID")
wait_port "$server_sink_port" smtp-sink "$work/server-sink.log"
server_site_port=$(free_port)
server_owner_port=$(free_port)
server_env=(HERALD_DATA_DIR="$work/server" HERALD_KEYRING_SERVICE="herald-window-server-$$")
env "${server_env[@]}" "$bin" init --team "Analytical Engines" --owner-name "Charles Babbage" \
    --from invites@example.com --public-url "http://127.0.0.1:$server_site_port" >/dev/null
env "${server_env[@]}" "$bin" smtp set --host 127.0.0.1 --port "$server_sink_port" --tls none >/dev/null
export HERALD_SERVER_DIR="$work/server" HERALD_SERVER_SERVICE="herald-window-server-$$" \
    HERALD_SERVER_SITE_PORT="$server_site_port" HERALD_SERVER_OWNER_PORT="$server_owner_port" \
    HERALD_SERVER_MAIL_DIR="$work/server-mail"
# The window (through tauri-driver) gets an empty data folder and a keyring service of its own.
mkdir -p "$work/client"
run_tests connected.test.mjs HERALD_DATA_DIR="$work/client" \
    HERALD_KEYRING_SERVICE="herald-window-client-$$" XDG_CONFIG_HOME="$work/client-config"
say "$P" "ok; screenshots in $shots"
