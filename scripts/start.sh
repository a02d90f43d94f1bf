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
# Reserved: a later issue starts a local test mail server here (smtp-sink on 127.0.0.1) and
# points Herald at it. Once something runs beside Herald, replace the `exec` below with a plain
# run, and stop that server by its PID in an EXIT trap.
# --------------------------------------------------------------------------------------------

say "$P" "starting $bin${*:+ $*}"
exec "$bin" "$@"
