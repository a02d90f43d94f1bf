#!/usr/bin/env bash
# Sets up what is missing, builds Herald, and starts it. Arguments are passed to herald:
#   scripts/start.sh                 the owner's window (needs a desktop session)
#   scripts/start.sh --help          the command line (herald serve, herald invite, ...)
#   scripts/start.sh serve ...       any herald command
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"

P=start

if [ "$#" -eq 0 ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    cat >&2 <<'HINT'
start: Herald's window needs a desktop session, and neither DISPLAY nor WAYLAND_DISPLAY is set.
start: - run this from a terminal inside your desktop, or
start: - use the command line instead: `scripts/start.sh --help` lists it (herald serve, herald invite, ...), or
start: - try the window on a virtual screen: `xvfb-run -a scripts/start.sh` (nothing to see, but it runs).
HINT
    exit 2
fi

bash scripts/setup.sh
ensure_cargo_on_path

say "$P" "building Herald (cargo build)"
cargo build

bin="$(cargo_target_dir)/debug/herald"
[ -x "$bin" ] || die "$P" "cargo build finished but $bin is missing"

# ---- Local test mail server ---------------------------------------------------------------
# With the window, a local test mail server (smtp-sink, scripts/mail-sink.sh) runs beside
# Herald on 127.0.0.1:2525, so that a newcomer without a mail provider can send an invitation
# and read it: in the setup's mail server step use host 127.0.0.1, port 2525, TLS "none";
# scripts/read-mail.sh shows the newest mail it received. HERALD_NO_MAIL_SINK=1 skips it.
sink_pid=""
if [ "$#" -eq 0 ] && [ -z "${HERALD_NO_MAIL_SINK:-}" ] && [ -x /usr/sbin/smtp-sink ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; then
        say "$P" "something already listens on 127.0.0.1:2525; using it as the test mail server"
    else
        bash scripts/mail-sink.sh 2525 >"${TMPDIR:-/tmp}/herald-mail-sink.log" 2>&1 &
        sink_pid=$!
        trap 'kill "$sink_pid" 2>/dev/null || true' EXIT
        say "$P" "local test mail server on 127.0.0.1:2525 (setup: host 127.0.0.1, port 2525, TLS none); read what it received with: bash scripts/read-mail.sh"
    fi
fi
# --------------------------------------------------------------------------------------------

say "$P" "starting $bin${*:+ $*}"
if [ -n "$sink_pid" ]; then
    # Not exec: the trap stops the mail server when Herald quits.
    "$bin" "$@"
else
    exec "$bin" "$@"
fi
