# shellcheck shell=bash
# Helpers shared by scripts/*.sh. Source this file; do not run it.

# The repository's top folder, whatever the caller's working directory.
HERALD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export HERALD_ROOT

# say PREFIX MESSAGE... : one short progress line, e.g. "setup: system packages ok".
say() {
    local prefix=$1
    shift
    printf '%s: %s\n' "$prefix" "$*"
}

# die PREFIX MESSAGE... : print an error to stderr and stop.
die() {
    local prefix=$1
    shift
    printf '%s: error: %s\n' "$prefix" "$*" >&2
    exit 1
}

# rustup installs cargo into ~/.cargo/bin, which a non-login shell (CI, cron, an IDE) may not
# have on PATH: add it when cargo is not found otherwise.
ensure_cargo_on_path() {
    if ! command -v cargo >/dev/null 2>&1; then
        local bin="${CARGO_HOME:-${HOME:-/root}/.cargo}/bin"
        if [ -x "$bin/cargo" ]; then
            PATH="$bin:$PATH"
            export PATH
        fi
    fi
}

# The folder cargo builds into: $CARGO_TARGET_DIR if set, else target/ at the top.
cargo_target_dir() {
    local dir=${CARGO_TARGET_DIR:-target}
    case $dir in
    /*) printf '%s\n' "$dir" ;;
    *) printf '%s\n' "$HERALD_ROOT/$dir" ;;
    esac
}

# The packages every benchmark build selects (`cargo bench`, the seed_team example), whichever
# one target it wants: cargo unifies dependency features over the selected packages, so with
# one selection the release builds share every crate; with one package each, herald-core and
# much of the tree below it were built twice.
# shellcheck disable=SC2034 # used by the scripts that source this file
BENCH_PACKAGES=(-p herald-core -p herald-api)

# Builds ui/ into ui/dist when a file under ui/ (outside node_modules and dist) is newer than
# ui/dist/index.html, or there is none; says which under the name $1. Only when needed: the
# app embeds ui/dist, so a rewritten ui/dist makes cargo link the release binary again
# (minutes). For the same reason the release builds pass Tauri a null beforeBuildCommand.
build_ui_if_stale() {
    if [ ! -e ui/dist/index.html ] || [ -n "$(find ui \( -path ui/node_modules -o -path ui/dist \) \
        -prune -o -type f -newer ui/dist/index.html -print -quit)" ]; then
        say "$1" "building the UI into ui/dist"
        npm --prefix ui run build
    else
        say "$1" "ui/dist up to date"
    fi
}

# A TCP port on 127.0.0.1 that is free right now (the tests and benchmarks start servers on it).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT WHAT LOG : waits up to 10 s for 127.0.0.1:PORT to accept connections; if it
# never does, prints LOG and stops with "WHAT did not listen".
wait_port() {
    local i=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 200 ]; then
            cat "$3" >&2
            die "${P:-herald}" "$2 did not listen on 127.0.0.1:$1"
        fi
        sleep 0.05
    done
}

# start_smtp_sink DIR PORT LOG : Postfix's smtp-sink on 127.0.0.1:PORT in the background,
# dumping each message it receives into its own file in DIR; its PID goes into SMTP_SINK_PID
# (add it to your cleanup, then wait_port PORT). As root it runs as nobody, which must be able
# to write DIR.
start_smtp_sink() {
    local dir=$1 port=$2 log=$3 user=()
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 755 "$(dirname "$dir")"
        chown nobody "$dir"
        user=(-u nobody)
    fi
    /usr/sbin/smtp-sink "${user[@]}" -d "$dir/%H%M%S." "127.0.0.1:$port" 16 >"$log" 2>&1 &
    # shellcheck disable=SC2034 # read by the caller
    SMTP_SINK_PID=$!
}
