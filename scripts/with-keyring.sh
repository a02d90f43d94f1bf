#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring Secret Service,
# so that keyring tests use a real store and never touch the user's own keyring.
# Usage: scripts/with-keyring.sh CMD [ARG...]      (exits with CMD's exit code)
# HOME stays as it is (cargo and rustup live there); the keyring gets its own temporary data
# and runtime folders (XDG_DATA_HOME, XDG_RUNTIME_DIR), removed afterwards.
set -euo pipefail

P=with-keyring
# The keyring's password: it guards only a throwaway keyring in a temporary folder.
KEYRING_PASSWORD=herald-test

die() {
    printf '%s: error: %s\n' "$P" "$*" >&2
    exit 1
}

# Second half, run by dbus-run-session inside the private bus: start and unlock the keyring,
# wait until it serves org.freedesktop.secrets, run the command, stop the keyring.
inside_session() {
    unset HERALD_WITH_KEYRING_INSIDE
    # The bus is up: say so, and take back the caller's stderr (fd 3; see below).
    : >"$HERALD_WITH_KEYRING_STARTED"
    unset HERALD_WITH_KEYRING_STARTED
    exec 2>&3 3>&-
    local env_lines
    env_lines=$(printf '%s' "$KEYRING_PASSWORD" |
        gnome-keyring-daemon --unlock --components=secrets) ||
        die "gnome-keyring-daemon did not start"
    # It prints lines such as GNOME_KEYRING_CONTROL=/path; export them.
    local line
    while IFS= read -r line; do
        case $line in
        [A-Z_]*=*) export "${line?}" ;;
        esac
    done <<<"$env_lines"

    local bus=(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus)
    local i=0
    until "${bus[@]}" org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'; do
        i=$((i + 1))
        [ "$i" -le 100 ] || die "org.freedesktop.secrets did not appear on the bus within 10 s"
        sleep 0.1
    done
    local daemon_pid
    daemon_pid=$("${bus[@]}" org.freedesktop.DBus.GetConnectionUnixProcessID \
        string:org.freedesktop.secrets 2>/dev/null | awk '/uint32/ { print $2 }') || true

    local rc=0
    "$@" || rc=$?
    # Stop the daemon before its folders are removed (it would go when the bus goes, but
    # perhaps a moment too late).
    if [ -n "${daemon_pid:-}" ]; then
        kill "$daemon_pid" 2>/dev/null || true
    fi
    exit "$rc"
}

if [ "${HERALD_WITH_KEYRING_INSIDE:-}" = 1 ]; then
    inside_session "$@"
fi

[ "$#" -gt 0 ] || {
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
}
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: run scripts/setup.sh first"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -m 700 "$tmp/data" "$tmp/runtime"

# dbus-daemon, run as root where it may not raise its file limit, warns on stderr at every
# start ("Failed to set fd limit"). Send the bus's stderr to a log, and hand the command the
# caller's own stderr on fd 3; show the log only if the bus never came up.
rc=0
XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/runtime" HERALD_WITH_KEYRING_INSIDE=1 \
    HERALD_WITH_KEYRING_STARTED="$tmp/started" \
    dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@" 3>&2 2>"$tmp/dbus.log" || rc=$?
if [ ! -e "$tmp/started" ]; then
    cat "$tmp/dbus.log" >&2
    die "could not start a private D-Bus session (dbus-run-session exited with $rc)"
fi
exit "$rc"
