-- wrk script for scripts/bench-site.sh: POST /i/<token> with the Accept button's form, one
-- invitation per request.
-- Arguments (after wrk's `--`): TOKENS_FILE THREADS FIRST_OCTET
--   TOKENS_FILE  one path (/i/<token>) a line
--   THREADS      the -t given to wrk (setup() cannot know it: wrk runs each thread's init()
--                before the next thread's setup())
--   FIRST_OCTET  the first byte of the X-Forwarded-For addresses, so two runs against the
--                same server use different clients
-- The list is split between the threads, so no two requests answer the same invitation. A
-- thread stops (wrk.thread:stop()) once every invitation of its part has its answer; while
-- its last answers are on their way, its other connections post to its invitations a second
-- time, and those "already accepted" answers are counted apart. Those last requests still
-- in flight at the stop are never read, so they are not in wrk's figures.
-- wrk itself divides by the whole -d even when its threads stopped early, so each thread
-- notes when it started and when its last response came (CLOCK_MONOTONIC through LuaJIT's
-- ffi), and done() reports that span: the rate is responses / span.
-- Each response is sorted by what it says: a fresh accept ("You have accepted the
-- invitation"), "You have already accepted", or its status code. Each request comes from a
-- different X-Forwarded-For address (believed from the server's --trusted-proxy 127.0.0.1),
-- so the per-client rate limit stays on and is never reached. The headers are a browser's
-- posting the page's own form (Sec-Fetch-Site: same-origin; Origin: null, as under the site's
-- no-referrer policy).
-- done() prints RESULT and ANSWERS lines for the shell script.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } herald_bench_timespec;
int clock_gettime(int clock, herald_bench_timespec *t);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("herald_bench_timespec")
local function now()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
    return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local paths = {}
local first, size = 1, 0
local n = 0
local octet = 172
local body = "form=answer&answer=accept"
local headers = {
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ["Accept-Language"] = "en-US,en;q=0.5",
    ["Accept-Encoding"] = "gzip, deflate, br",
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = "null",
    ["Upgrade-Insecure-Requests"] = "1",
    ["Sec-Fetch-Dest"] = "document",
    ["Sec-Fetch-Mode"] = "navigate",
    ["Sec-Fetch-Site"] = "same-origin",
    ["Sec-Fetch-User"] = "?1",
}

-- The k-th request of a thread answers the k-th invitation of its part. wrk builds one
-- request of thread 0 before the run, only to check the script, and throws it away: thread 0
-- starts at k = -1 so that this one does not use up an invitation.
local k = 0

-- Read by done() through thread:get().
reused = 0
fresh = 0
already = 0
other_ok = 0
statuses = {}
local others = 0
started = 0
finished = 0

function init(args)
    local file = assert(args[1], "usage: -- TOKENS_FILE THREADS FIRST_OCTET")
    local nthreads = tonumber(args[2] or "1")
    octet = tonumber(args[3] or "172")
    local count = 0
    for line in io.lines(file) do
        if line ~= "" then
            count = count + 1
            paths[count] = line
        end
    end
    first = math.floor(count * id / nthreads) + 1
    size = math.floor(count * (id + 1) / nthreads) - first + 1
    assert(size > 0, "fewer tokens than threads in " .. file)
    if id == 0 then
        k = -1
    end
    started = now()
    finished = started
end

-- A different client address for every request: each thread has 16 values of the second
-- byte, 1,048,576 addresses, before one comes round again.
local function client()
    local second = (id * 16 + math.floor(n / 65536)) % 256
    local ip = string.format("%d.%d.%d.%d", octet, second, math.floor(n / 256) % 256, n % 256)
    n = n + 1
    return ip
end

function request()
    if k >= size then
        -- This thread's part is used up, but answers to it may still be on their way:
        -- answer one of its invitations again (the page says "already accepted").
        reused = reused + 1
    end
    local path = paths[first + math.max(k, 0) % size]
    k = k + 1
    headers["X-Forwarded-For"] = client()
    return wrk.format("POST", path, headers, body)
end

function response(status, _, text)
    finished = now()
    if status == 200 then
        if text:find("You have accepted the invitation", 1, true) then
            fresh = fresh + 1
        elseif text:find("You have already accepted", 1, true) then
            already = already + 1
        else
            other_ok = other_ok + 1
        end
    else
        local key = tostring(status)
        statuses[key] = (statuses[key] or 0) + 1
        others = others + 1
    end
    -- Every invitation of this thread's part has its answer: stop. (Only a second request
    -- for an invitation gets "already accepted", so everything else answers a first one.)
    if fresh + other_ok + others >= size then
        wrk.thread:stop()
    end
end

function done(summary, latency, _)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
            .. "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
    local t = { reused = 0, fresh = 0, already = 0, other_ok = 0 }
    local by_status = {}
    local from, to = math.huge, 0
    for _, thread in ipairs(threads) do
        for key in pairs(t) do
            t[key] = t[key] + thread:get(key)
        end
        for code, c in pairs(thread:get("statuses")) do
            by_status[code] = (by_status[code] or 0) + c
        end
        from = math.min(from, thread:get("started"))
        to = math.max(to, thread:get("finished"))
    end
    local other = {}
    for code, c in pairs(by_status) do
        table.insert(other, code .. ":" .. c)
    end
    table.sort(other)
    io.write(string.format(
        "ANSWERS span_us=%d reused=%d fresh=%d already=%d other_200=%d other=%s\n",
        math.floor((to - from) * 1e6), t.reused, t.fresh, t.already, t.other_ok,
        #other > 0 and table.concat(other, ",") or "none"))
end
