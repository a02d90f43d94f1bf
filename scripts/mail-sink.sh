#!/usr/bin/env bash
# A local test mail server for trying Herald without a mail provider: Postfix's smtp-sink
# listens on 127.0.0.1 and writes every message it receives to a file you can read.
#   scripts/mail-sink.sh [PORT] [FOLDER]     default: 2525 and .herald-dev/mail
# Point Herald at it with:
#   herald smtp set --host 127.0.0.1 --port 2525 --tls none
# (plaintext is allowed to this machine only). Stop it with Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
P=mail-sink

port=${1:-2525}
folder=${2:-$HERALD_ROOT/.herald-dev/mail}
sink=/usr/sbin/smtp-sink
[ -x "$sink" ] || die "$P" "$sink not found: run scripts/setup.sh (it installs Debian's postfix package, which has it)"

mkdir -p "$folder"
args=()
if [ "$(id -u)" -eq 0 ]; then
    # smtp-sink refuses to run as root: it drops to nobody, who must be able to write the folder.
    chown nobody "$folder"
    args+=(-u nobody)
fi
say "$P" "listening on 127.0.0.1:$port; each message lands in $folder/"
# -d: one file per message, named by time; 256: connection backlog.
exec "$sink" "${args[@]}" -d "$folder/%Y%m%d-%H%M%S." "127.0.0.1:$port" 256
