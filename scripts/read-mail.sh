#!/usr/bin/env bash
# Shows a message the local test mail server (scripts/mail-sink.sh) received, as its reader
# would see it: the headers that matter and the plain-text part, decoded, so the invitation
# link can be copied whole (the raw file wraps it, quoted-printable).
#   scripts/read-mail.sh [FILE]      default: the newest message in .herald-dev/mail/
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
P=read-mail

file=${1:-}
if [ -z "$file" ]; then
    folder=$HERALD_ROOT/.herald-dev/mail
    # Names start with the time received, so the last in order is the newest.
    file=$(find "$folder" -maxdepth 1 -type f 2>/dev/null | sort | tail -n 1)
    [ -n "$file" ] || die "$P" "no mail in $folder yet: is scripts/mail-sink.sh running, and has herald serve sent something?"
fi
[ -f "$file" ] || die "$P" "$file is not a file"
python3 - "$file" <<'PY'
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    m = email.message_from_binary_file(f, policy=email.policy.default)
for h in ("From", "To", "Reply-To", "Subject", "Date", "List-Unsubscribe"):
    if m[h]:
        print(f"{h}: {m[h]}")
print()
part = m.get_body(preferencelist=("plain",))
print(part.get_content() if part else "(no plain-text part)")
PY
