#!/usr/bin/env bash
# End-to-end test of the invitee's confirmation site in a real browser: `herald serve` mails two
# invitations to Postfix's smtp-sink, then headless Chromium (Debian's /usr/bin/chromium, driven
# by playwright-core from tests/site) opens the links from the received mails, accepts one and
# declines the other with "never invite me again"; the CLI must agree. Nothing is mocked.
# Usage: scripts/site-browser-test.sh [HERALD_BIN]   (builds the debug binary if none is given;
# runs inside a private keyring)
# Needs: /usr/sbin/smtp-sink (postfix), /usr/bin/chromium, node and npm; scripts/setup.sh
# --tests installs them.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P="site-browser-test"

if [ "${HERALD_SITE_TEST_INSIDE:-}" != 1 ]; then
    bin=${1:-}
    if [ -z "$bin" ]; then
        say "$P" "building Herald (debug)"
        cargo build --locked --quiet
        bin="$(cargo_target_dir)/debug/herald"
    fi
    [ -x "$bin" ] || die "$P" "$bin not found or not executable"
    for tool in /usr/sbin/smtp-sink /usr/bin/chromium node npm python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$P" "'$tool' not found: run scripts/setup.sh --tests"
    done
    if [ ! -d tests/site/node_modules ]; then
        say "$P" "installing tests/site's npm packages"
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm --prefix tests/site ci --no-audit --no-fund
    fi
    HERALD_SITE_TEST_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$bin"
fi

bin=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/herald-site.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. A fresh data folder and keyring entry; smtp-sink dumps each message into a file.
export HERALD_DATA_DIR="$work/data" HERALD_KEYRING_SERVICE="herald-site-test-$$"
mail="$work/mail"
sink_port=$(free_port)
start_smtp_sink "$mail" "$sink_port" "$work/sink.log"
pids+=("$SMTP_SINK_PID")
wait_port "$sink_port" smtp-sink "$work/sink.log"
say "$P" "PASS 1: smtp-sink listens on 127.0.0.1:$sink_port, data folder $HERALD_DATA_DIR"

# 2. Set Herald up, queue two invitations, start the site and the outbox.
site_port=$(free_port)
site="http://127.0.0.1:$site_port"
"$bin" init --team "Rocket Team" --owner-name "Ada Lovelace" --from invites@example.com \
    --public-url "$site" >/dev/null
"$bin" smtp set --host 127.0.0.1 --port "$sink_port" --tls none >/dev/null
"$bin" invite create grace@example.com --role engineer --note "Welcome aboard" >/dev/null
"$bin" invite create alan@example.com --role analyst >/dev/null
"$bin" serve --owner-bind 127.0.0.1:0 --bind "127.0.0.1:$site_port" >"$work/serve.log" 2>&1 &
pids+=($!)
wait_port "$site_port" "herald serve" "$work/serve.log"
i=0
# "sent" is logged once the sink has taken the whole message (and written its file).
until [ "$(grep -c '^outbox: sent' "$work/serve.log" || true)" -ge 2 ] &&
    [ "$(find "$mail" -type f | wc -l)" -ge 2 ]; do
    i=$((i + 1))
    if [ "$i" -gt 600 ] || grep -q 'failed\|waiting:' "$work/serve.log"; then
        cat "$work/serve.log" >&2
        die "$P" "the two invitation mails did not reach smtp-sink"
    fi
    sleep 0.05
done
say "$P" "PASS 2: herald serve on $site mailed 2 invitations to the sink"

# 3 to 6: the browser, in tests/site/accept.mjs; it prints its own PASS lines.
export HERALD_BIN="$bin" HERALD_SITE_URL="$site" HERALD_MAIL_DIR="$mail"
if ! node tests/site/accept.mjs; then
    echo "---- herald serve log ----" >&2
    cat "$work/serve.log" >&2
    die "$P" "the confirmation site test failed"
fi
say "$P" "ok"
