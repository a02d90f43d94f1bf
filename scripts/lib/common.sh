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

# A TCP port on 127.0.0.1 that is free right now (the tests and benchmarks start servers on it).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
