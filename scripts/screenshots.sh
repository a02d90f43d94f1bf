#!/usr/bin/env bash
# Refreshes docs/screenshots/window/: runs the window's end-to-end test (scripts/window-test.sh),
# which photographs every main screen of the real app in light and dark as it goes.
# Usage: scripts/screenshots.sh [HERALD_BIN]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"

out="$HERALD_ROOT/docs/screenshots/window"
mkdir -p "$out"
HERALD_SHOTS="$out" bash scripts/window-test.sh "$@"
say screenshots "updated $out"
