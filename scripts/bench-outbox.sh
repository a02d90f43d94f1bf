#!/usr/bin/env bash
# Outbox throughput: N invitations (default 2000) mailed by `herald serve` to a local smtp-sink,
# beside Postfix's own load generator against the same sink in the same run, the reference
# (`smtp-source -d -s 8 -m N -l 2048`). Prints mails per second for both and the ratio. The
# reference runs before and after Herald and the faster run counts, so a noisy moment on the
# machine cannot flatter Herald. The sinks write into memory (/dev/shm) where there is one, so
# the disk's hiccups do not decide the figures; Herald's database stays on disk.
# Usage: scripts/bench-outbox.sh [N] [HERALD_BIN]     (builds Herald in release mode if no binary
# is given; runs inside a private keyring)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=bench-outbox

if [ "${HERALD_BENCH_INSIDE:-}" != 1 ]; then
    n=${1:-2000}
    bin=${2:-}
    if [ -z "$bin" ]; then
        say "$P" "building Herald (release)"
        cargo build --release --locked --quiet
        bin="$(cargo_target_dir)/release/herald"
    fi
    HERALD_BENCH_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$n" "$bin"
fi

n=$1
bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sinks=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then sinks=$(mktemp -d /dev/shm/herald-bench.XXXXXX); fi
# smtp-sink drops to nobody, who must reach the dump folders inside.
chmod 755 "$work" "$sinks"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work" "$sinks"
}
trap cleanup EXIT

now() { date +%s.%N; }

start_sink() { # FOLDER PORT
    mkdir -p "$1"
    local user=()
    if [ "$(id -u)" -eq 0 ]; then chown nobody "$1"; user=(-u nobody); fi
    /usr/sbin/smtp-sink "${user[@]}" -d "$1/%H%M%S." "127.0.0.1:$2" 256 &
    pids+=($!)
    until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do sleep 0.05; done
}

# The reference: smtp-source, 8 sessions, 2 KiB messages, into a sink of its own. Sets $rate
# (not through $(...): the sink started inside would hold the substitution open).
reference() {
    local port t0 t1
    port=$(free_port)
    start_sink "$sinks/ref$1" "$port"
    t0=$(now)
    /usr/sbin/smtp-source -d -s 8 -m "$n" -l 2048 -f bench@example.com -t sink@example.com "127.0.0.1:$port"
    t1=$(now)
    rate=$(python3 -c "print(round($n / ($t1 - $t0), 1))")
}
reference 1
ref1=$rate

# Herald: N invitations, queued in batches of at most 500, then `herald serve` mails them.
port=$(free_port)
start_sink "$sinks/mail" "$port"
export HERALD_DATA_DIR="$work/data" HERALD_KEYRING_SERVICE="herald-bench-$$"
"$bin" init --team Bench --owner-name Bench --from bench@example.com --public-url http://localhost:8750 >/dev/null
"$bin" smtp set --host 127.0.0.1 --port "$port" --tls none >/dev/null
"$bin" limits --per-day 3 >/dev/null
for ((start = 0; start < n; start += 500)); do
    end=$((start + 500 < n ? start + 500 : n))
    for ((i = start; i < end; i++)); do echo "person$i@example.com"; done >"$work/list.txt"
    "$bin" invite create --from-file "$work/list.txt" >/dev/null
done
t0=$(now)
"$bin" serve --owner-bind 127.0.0.1:0 --bind 127.0.0.1:0 >"$work/serve.log" &
pids+=($!)
until [ "$(grep -c '^outbox: sent' "$work/serve.log" || true)" -ge "$n" ]; do
    if grep -q 'failed\|waiting:' "$work/serve.log"; then
        cat "$work/serve.log" >&2
        die "$P" "the outbox reported a problem"
    fi
    sleep 0.05
done
t1=$(now)
herald=$(python3 -c "print(round($n / ($t1 - $t0), 1))")
received=$(find "$sinks/mail" -type f | wc -l)
reference 2
ref2=$rate
ref=$(python3 -c "print(max($ref1, $ref2))")

echo "outbox benchmark: $n invitations"
echo "  smtp-source (reference): $ref mails/s (best of $ref1 before and $ref2 after)"
echo "  herald serve:            $herald mails/s ($received messages received)"
python3 -c "print('  ratio: %.0f%% of smtp-source (aim, issue #17: at least 50%%)' % (100 * $herald / $ref))"
