#!/usr/bin/env bash
# Confirmation-site throughput: `herald serve` with N invitations (default 20000) mailed to a
# local smtp-sink, then two wrk runs against it, 2 threads, 32 connections, 10 s each:
#   link page  GET /i/<token>, walking every token taken from the mails
#   accept     POST /i/<token> (the Accept button's form), each request a fresh invitation;
#              a wrk thread stops when its share of the list is answered, and the rate is
#              taken over the time until the last answer (N=20000 lasts about 6-9 s here)
# Prints requests per second, p50/p90/p99 latency and error responses for each beside the
# issue's aims (link page above 40,000/s, accepts above 15,000/s, p99 under 10 ms), and how
# many invitations `herald invite list` calls accepted afterwards.
# Every hardening layer stays on: Herald runs with --trusted-proxy 127.0.0.1 and each request
# names its own client in X-Forwarded-For (scripts/bench-site-get.lua, bench-site-accept.lua),
# so the per-client rate limits are checked on every request but no client reaches its limit.
# wrk and Herald share this machine's CPUs: the figures are for both on one host.
# Usage: scripts/bench-site.sh [N] [HERALD_BIN]     (builds Herald in release mode if no binary
# is given; runs inside a private keyring; needs wrk and Postfix's smtp-sink)
# HERALD_BENCH_DURATION (default 10s) sets wrk's -d for both runs.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$HERALD_ROOT"
ensure_cargo_on_path
P=bench-site

if [ "${HERALD_BENCH_INSIDE:-}" != 1 ]; then
    n=${1:-20000}
    bin=${2:-}
    case $n in
    '' | *[!0-9]*) die "$P" "N must be a number of invitations, not '$n'" ;;
    esac
    [ "$n" -ge 2 ] || die "$P" "N must be at least 2"
    command -v wrk >/dev/null 2>&1 || die "$P" "'wrk' not found: install it (apt-get install wrk)"
    [ -x /usr/sbin/smtp-sink ] || die "$P" "/usr/sbin/smtp-sink not found: run scripts/setup.sh"
    if [ -z "$bin" ]; then
        say "$P" "building Herald (release)"
        cargo build --release --locked --quiet
        bin="$(cargo_target_dir)/release/herald"
    fi
    HERALD_BENCH_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$n" "$bin"
fi

n=$1
bin=$2
duration=${HERALD_BENCH_DURATION:-10s}
threads=2
connections=32
scripts=$HERALD_ROOT/scripts
work=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
sinks=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then sinks=$(mktemp -d /dev/shm/herald-bench.XXXXXX); fi
# smtp-sink drops to nobody, who must reach the dump folder inside.
chmod 755 "$work" "$sinks"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work" "$sinks"
}
trap cleanup EXIT

mail_count() { find "$sinks/mail" -type f | wc -l; }

# The sink: one file per mail, in memory where /dev/shm exists.
sink_port=$(free_port)
mkdir -p "$sinks/mail"
user=()
if [ "$(id -u)" -eq 0 ]; then chown nobody "$sinks/mail"; user=(-u nobody); fi
/usr/sbin/smtp-sink "${user[@]}" -d "$sinks/mail/%H%M%S." "127.0.0.1:$sink_port" 256 &
pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$sink_port") 2>/dev/null; do sleep 0.05; done

# A fresh data folder with N invitations, queued in batches of at most 500.
port=$(free_port)
export HERALD_DATA_DIR="$work/data" HERALD_KEYRING_SERVICE="herald-bench-site-$$"
"$bin" init --team Bench --owner-name Bench --from bench@example.com \
    --public-url "http://127.0.0.1:$port" >/dev/null
"$bin" smtp set --host 127.0.0.1 --port "$sink_port" --tls none >/dev/null
say "$P" "creating $n invitations"
for ((start = 0; start < n; start += 500)); do
    end=$((start + 500 < n ? start + 500 : n))
    for ((i = start; i < end; i++)); do echo "person$i@example.com"; done >"$work/list.txt"
    "$bin" invite create --from-file "$work/list.txt" >/dev/null
done

# The site, which also mails them; every mail must be in the sink before the runs start.
say "$P" "starting herald serve on 127.0.0.1:$port and waiting for $n mails"
"$bin" serve --owner-bind 127.0.0.1:0 --bind "127.0.0.1:$port" --trusted-proxy 127.0.0.1 >"$work/serve.log" 2>"$work/serve.err" &
serve_pid=$!
pids+=("$serve_pid")
until [ "$(grep -c '^outbox: sent' "$work/serve.log" || true)" -ge "$n" ]; do
    if grep -q 'failed\|waiting:' "$work/serve.log"; then
        cat "$work/serve.log" "$work/serve.err" >&2
        die "$P" "the outbox reported a problem"
    fi
    kill -0 "$serve_pid" 2>/dev/null || {
        cat "$work/serve.log" "$work/serve.err" >&2
        die "$P" "herald serve stopped"
    }
    sleep 0.1
done
for ((i = 0; i < 100 && $(mail_count) < n; i++)); do sleep 0.1; done
[ "$(mail_count)" -eq "$n" ] || die "$P" "the sink holds $(mail_count) mails, not $n"

# Every invitation link from the mails (multipart, quoted-printable), one path a line.
python3 - "$sinks/mail" "$work/tokens.txt" <<'PY'
import email, email.policy, os, re, sys

folder, out = sys.argv[1], sys.argv[2]
link = re.compile(r"/i/([A-Za-z0-9_-]{20,128})")
paths = []
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    found = set()
    for part in msg.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found.update(link.findall(part.get_content()))
    if len(found) != 1:
        sys.exit(f"bench-site: error: {name} holds {len(found)} invitation links, not 1")
    paths.append("/i/" + found.pop())
if len(set(paths)) != len(paths):
    sys.exit("bench-site: error: two mails carry the same link")
with open(out, "w") as f:
    f.write("".join(p + "\n" for p in paths))
PY
[ "$(wc -l <"$work/tokens.txt")" -eq "$n" ] || die "$P" "expected $n links in the mails"
say "$P" "$n invitation links taken from the mails"

# One wrk run: NAME SCRIPT FIRST_OCTET [PATHS_FILE]. Its own output goes to $work/NAME.out.
run_wrk() {
    say "$P" "$1: wrk -t$threads -c$connections -d$duration --latency -s $(basename "$2")"
    wrk "-t$threads" "-c$connections" "-d$duration" --latency -s "$2" \
        "http://127.0.0.1:$port" -- "${4:-$work/tokens.txt}" "$threads" "$3" >"$work/$1.out"
}
# The reference: the same server, every layer included (headers, client address from
# X-Forwarded-For, body limit, timeout), answering its health check, a constant that touches
# neither the store nor the key: what the HTTP stack itself costs on this machine.
echo /healthz >"$work/healthz.txt"
run_wrk healthz "$scripts/bench-site-get.lua" 30 "$work/healthz.txt"
run_wrk get "$scripts/bench-site-get.lua" 10
"$bin" invite list --json >"$work/list-get.json"
run_wrk accept "$scripts/bench-site-accept.lua" 172
"$bin" invite list --json >"$work/list.json"

# The report: the figures from each run's RESULT line (wrk's own histogram, in µs), the aims,
# the answers the accept run got, and what the data folder says.
python3 - "$work" "$n" "$duration" "$threads" "$connections" "$(nproc)" <<'PY'
import collections, json, os, re, sys

work, n, duration, threads, connections, cpus = sys.argv[1:]
n = int(n)

def fields(path, tag):
    for line in open(path):
        if line.startswith(tag + " "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    sys.exit(f"bench-site: error: no {tag} line in {path}")

def ms(us):
    return f"{int(us) / 1000:.2f} ms"

def show(title, name, aim_rps, span_us=None, reference=None):
    r = fields(os.path.join(work, name + ".out"), "RESULT")
    secs = int(r["duration_us"]) / 1e6
    # The accept run stops when its invitations are used up; wrk still divides by all of -d.
    measured = min(secs, int(span_us) / 1e6) if span_us else secs
    rps = int(r["requests"]) / measured
    p99 = int(r["p99_us"]) / 1000
    sockets = ", ".join(f"{k} {r[k]}" for k in ("connect", "read", "write", "timeout"))
    print(f"{title}")
    if aim_rps is None:
        print(f"  requests/s:  {rps:10.0f}")
        print(f"  latency:     p50 {ms(r['p50_us'])}, p90 {ms(r['p90_us'])}, p99 {ms(r['p99_us'])}"
              f" (max {ms(r['max_us'])})")
    else:
        ref = f"   {rps / reference:.0%} of the reference" if reference else ""
        print(f"  requests/s:  {rps:10.0f}   aim: above {aim_rps:,}  ({'met' if rps > aim_rps else 'NOT met'}){ref}")
        print(f"  latency:     p50 {ms(r['p50_us'])}, p90 {ms(r['p90_us'])}, p99 {ms(r['p99_us'])}"
              f" (max {ms(r['max_us'])})   aim: p99 under 10 ms  ({'met' if p99 < 10 else 'NOT met'})")
    print(f"  requests:    {r['requests']} in {measured:.2f} s; non-2xx/3xx responses: {r['non2xx']};"
          f" socket errors: {sockets}")
    if measured < secs:
        print(f"               (the threads stopped when their invitations were used up: {measured:.2f} s"
              f" from the start to the last response; wrk's own Requests/sec below divides by"
              f" all {secs:.2f} s)")
    return rps

print()
print(f"confirmation-site benchmark: {n} invitations, wrk -t{threads} -c{connections} -d{duration},"
      f" wrk and herald on the same {cpus} CPU(s)")
ref = show("reference: GET /healthz (the same server and layers, a constant answer: the HTTP"
           " stack's own cost)", "healthz", None)
show("link page (GET /i/<token>, walking all tokens round and round)", "get", 40000, reference=ref)
rows = [json.loads(l) for l in open(os.path.join(work, "list-get.json")) if l.strip()]
if rows and "opened_at" in rows[0]:
    firsts = sum(1 for r in rows if r.get("opened_at")) + sum(1 for r in rows if r.get("scanned_at"))
    print(f"  visits:      {firsts} first visits (each writes opened_at or scanned_at and an audit"
          f" row), the other responses repeat views (read only)")
a = fields(os.path.join(work, "accept.out"), "ANSWERS")
show("accept (POST /i/<token>, form=answer&answer=accept, each invitation once)", "accept", 15000,
     a["span_us"], reference=ref)
span = min(int(a["span_us"]), int(fields(os.path.join(work, "accept.out"), "RESULT")["duration_us"])) / 1e6
print(f"  answers:     {a['fresh']} fresh accepts ({int(a['fresh']) / span:.0f}/s), {a['already']} 'already accepted' (sent after a"
      f" thread's invitations were used up), {a['other_200']} other 200 pages,"
      f" other statuses: {a['other']}")
rows = [json.loads(l) for l in open(os.path.join(work, "list.json")) if l.strip()]
statuses = collections.Counter(r["status"] for r in rows)
opened = sum(1 for r in rows if r.get("opened_at"))
scanned = sum(1 for r in rows if r.get("scanned_at"))
print(f"  herald invite list: {statuses.get('accepted', 0)} of {n} accepted"
      f" ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})")
if rows and "opened_at" in rows[0]:
    print(f"  link visits recorded: {opened} opened by a person, {scanned} fetched as by a mail"
          f" scanner (a visit within 10 s of the mail counts as a scanner's)")
for name in ("healthz", "get", "accept"):
    print(f"\nwrk's own output ({name}):")
    for line in open(os.path.join(work, name + ".out")):
        if not line.startswith(("RESULT ", "ANSWERS ")):
            print("  " + line.rstrip())
PY

if [ -s "$work/serve.err" ]; then
    echo
    echo "herald serve's stderr ($(wc -l <"$work/serve.err") lines; first 5):"
    head -n 5 "$work/serve.err" | sed 's/^/  /'
fi
