#!/usr/bin/env bash
# Confirmation-site throughput: `herald serve` with N invitations (default 20000) mailed to a
# local smtp-sink, then two wrk runs against it, 2 threads, 32 connections, 10 s each:
#   link page  GET /i/<token>, walking every token taken from the mails
#   accept     POST /i/<token> (the Accept button's form), each request a fresh invitation;
#              a wrk thread stops when its share of the list is answered, and the rate is
#              taken over the time until the last answer (N=20000 lasts about 6-9 s here)
# Two references in the same run: Herald's own GET /healthz (every layer, a constant answer: the
# HTTP stack's cost), and then, with Herald stopped, benches/bare-axum (a bare axum handler
# with one HMAC-SHA256 and one SQLite point read or conditional UPDATE, a 3 KB page) under the
# same two wrk runs: the least a link page and an accept can cost here.
# Prints requests per second, p50/p90/p99 latency and error responses for each beside issue
# #17's aims (link page: 70% of /healthz, half the bare handler's rate, p99 under 5 ms; accept:
# 50% of /healthz, half the bare handler's rate, p99 under 10 ms), and how many invitations
# `herald invite list` calls accepted afterwards.
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
    # The bare reference is small; built here every time (a no-op when it is fresh).
    cargo build --release --locked --quiet -p bare-axum
    bare="$(cargo_target_dir)/release/bare-axum"
    HERALD_BENCH_INSIDE=1 exec scripts/with-keyring.sh bash "${BASH_SOURCE[0]}" "$n" "$bin" "$bare"
fi

n=$1
bin=$2
bare=$3
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

# The CPU time a process has used so far (user and system, all threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# One wrk run: NAME SCRIPT FIRST_OCTET [PATHS_FILE [PORT [SERVER_PID]]]. Its own output goes to
# $work/NAME.out, and the server's CPU time during the run to $work/NAME.cpu (ticks, and ticks
# per second): a steadier figure than requests per second, since wrk and the server share the
# CPUs and the split between them varies from run to run.
run_wrk() {
    local server=${6:-$serve_pid} before
    say "$P" "$1: wrk -t$threads -c$connections -d$duration --latency -s $(basename "$2")"
    before=$(cpu_ticks "$server")
    wrk "-t$threads" "-c$connections" "-d$duration" --latency -s "$2" \
        "http://127.0.0.1:${5:-$port}" -- "${4:-$work/tokens.txt}" "$threads" "$3" >"$work/$1.out"
    echo "$(($(cpu_ticks "$server") - before)) $(getconf CLK_TCK)" >"$work/$1.cpu"
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

# The second reference, with Herald stopped so that it has the CPUs to itself as Herald had:
# the bare handler over its own N invitations, the same two runs.
kill "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
bare_port=$(free_port)
say "$P" "starting the bare axum handler (benches/bare-axum) on 127.0.0.1:$bare_port"
"$bare" "$work/bare.sqlite3" "$bare_port" "$n" "$work/bare-tokens.txt" >"$work/bare.log" 2>&1 &
pids+=($!)
bare_pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$bare_port") 2>/dev/null; do
    kill -0 "$bare_pid" 2>/dev/null || { cat "$work/bare.log" >&2; die "$P" "bare-axum stopped"; }
    sleep 0.05
done
run_wrk bare-get "$scripts/bench-site-get.lua" 40 "$work/bare-tokens.txt" "$bare_port" "$bare_pid"
run_wrk bare-accept "$scripts/bench-site-accept.lua" 50 "$work/bare-tokens.txt" "$bare_port" "$bare_pid"

# The report: the figures from each run's RESULT line (wrk's own histogram, in µs), the aims,
# the answers the accept runs got, and what the data folder says.
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

def show(title, name, span_us=None):
    """Prints one run's figures; returns its requests/s and p99 in ms."""
    r = fields(os.path.join(work, name + ".out"), "RESULT")
    secs = int(r["duration_us"]) / 1e6
    # The accept run stops when its invitations are used up; wrk still divides by all of -d.
    measured = min(secs, int(span_us) / 1e6) if span_us else secs
    rps = int(r["requests"]) / measured
    print(f"{title}")
    print(f"  requests/s:  {rps:10.0f}")
    print(f"  latency:     p50 {ms(r['p50_us'])}, p90 {ms(r['p90_us'])}, p99 {ms(r['p99_us'])}"
          f" (max {ms(r['max_us'])})")
    sockets = ", ".join(f"{k} {r[k]}" for k in ("connect", "read", "write", "timeout"))
    print(f"  requests:    {r['requests']} in {measured:.2f} s; non-2xx/3xx responses: {r['non2xx']};"
          f" socket errors: {sockets}")
    if measured < secs:
        print(f"               (the threads stopped when their invitations were used up: {measured:.2f} s"
              f" from the start to the last response; wrk's own Requests/sec below divides by"
              f" all {secs:.2f} s)")
    ticks, hz = (int(x) for x in open(os.path.join(work, name + ".cpu")).read().split())
    # wrk's count leaves out the requests still in flight when it stopped; their CPU is in.
    print(f"  server CPU:  {ticks / hz * 1e6 / int(r['requests']):10.0f} µs per request"
          f" ({ticks / hz:.2f} s of CPU in the run)")
    return rps, int(r["p99_us"]) / 1000

def answers(name):
    """Prints what an accept run's answers said; returns fresh accepts per second."""
    a = fields(os.path.join(work, name + ".out"), "ANSWERS")
    span = min(int(a["span_us"]), int(fields(os.path.join(work, name + ".out"), "RESULT")["duration_us"])) / 1e6
    fresh = int(a["fresh"]) / span
    print(f"  answers:     {a['fresh']} fresh accepts ({fresh:.0f}/s), {a['already']} 'already accepted' (sent after a"
          f" thread's invitations were used up), {a['other_200']} other 200 pages,"
          f" other statuses: {a['other']}")
    return fresh

def aims(rate, p99, healthz, bare, share, p99_aim):
    """Issue #17's aims for one figure: a share of /healthz, half the bare handler, a p99."""
    verdict = lambda ok: "met" if ok else "NOT met"
    print(f"  {rate / healthz:.0%} of the reference (/healthz); {rate / bare:.2f}x the bare handler")
    print(f"  aims (#17):  at least {share:.0%} of /healthz ({verdict(rate >= share * healthz)}),"
          f" at least 0.5x the bare handler ({verdict(rate >= 0.5 * bare)}),"
          f" p99 under {p99_aim} ms ({verdict(p99 < p99_aim)})")

print()
print(f"confirmation-site benchmark: {n} invitations, wrk -t{threads} -c{connections} -d{duration},"
      f" wrk and the server on the same {cpus} CPU(s)")
healthz, _ = show("reference: GET /healthz (the same server and layers, a constant answer: the HTTP"
                  " stack's own cost)", "healthz")
bare_get, _ = show("reference: the bare axum handler's link page (benches/bare-axum: one HMAC-SHA256,"
                   " one point read, a 3 KB page; Herald stopped)", "bare-get")
a = fields(os.path.join(work, "bare-accept.out"), "ANSWERS")
show("reference: the bare axum handler's accept (one HMAC-SHA256, one conditional UPDATE, a 3 KB"
     " page)", "bare-accept", a["span_us"])
bare_accept = answers("bare-accept")
print()
rate, p99 = show("link page (GET /i/<token>, walking all tokens round and round)", "get")
aims(rate, p99, healthz, bare_get, 0.70, 5)
rows = [json.loads(l) for l in open(os.path.join(work, "list-get.json")) if l.strip()]
if rows and "opened_at" in rows[0]:
    firsts = sum(1 for r in rows if r.get("opened_at")) + sum(1 for r in rows if r.get("scanned_at"))
    print(f"  visits:      {firsts} first visits (each writes opened_at or scanned_at and an audit"
          f" row), the other responses repeat views (read only)")
a = fields(os.path.join(work, "accept.out"), "ANSWERS")
_, p99 = show("accept (POST /i/<token>, form=answer&answer=accept, each invitation once)", "accept",
              a["span_us"])
fresh = answers("accept")
aims(fresh, p99, healthz, bare_accept, 0.50, 10)
rows = [json.loads(l) for l in open(os.path.join(work, "list.json")) if l.strip()]
statuses = collections.Counter(r["status"] for r in rows)
opened = sum(1 for r in rows if r.get("opened_at"))
scanned = sum(1 for r in rows if r.get("scanned_at"))
print(f"  herald invite list: {statuses.get('accepted', 0)} of {n} accepted"
      f" ({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})")
if rows and "opened_at" in rows[0]:
    print(f"  link visits recorded: {opened} opened by a person, {scanned} fetched as by a mail"
          f" scanner (a visit within 10 s of the mail counts as a scanner's)")
for name in ("healthz", "bare-get", "bare-accept", "get", "accept"):
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
