-- wrk script for scripts/bench-site.sh: GET /i/<token> over the whole token list.
-- Arguments (after wrk's `--`): TOKENS_FILE THREADS FIRST_OCTET
--   TOKENS_FILE  one path (/i/<token>) a line
--   THREADS      the -t given to wrk (setup() cannot know it: wrk runs each thread's init()
--                before the next thread's setup())
--   FIRST_OCTET  the first byte of the X-Forwarded-For addresses, so two runs against the
--                same server use different clients
-- Each request comes from a different X-Forwarded-For address (the server believes it from
-- its --trusted-proxy 127.0.0.1), so the per-client rate limit stays on and is never reached.
-- No response() function: wrk then does not hand every body to Lua, which keeps the load
-- generator light. done() prints one RESULT line for the shell script.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local paths = {}
local count = 0
local i = 0
local n = 0
local octet = 10
local headers = {
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ["Accept-Language"] = "en-US,en;q=0.5",
    ["Accept-Encoding"] = "gzip, deflate, br",
    ["Upgrade-Insecure-Requests"] = "1",
    ["Sec-Fetch-Dest"] = "document",
    ["Sec-Fetch-Mode"] = "navigate",
    ["Sec-Fetch-Site"] = "none",
    ["Sec-Fetch-User"] = "?1",
}

function init(args)
    local file = assert(args[1], "usage: -- TOKENS_FILE THREADS FIRST_OCTET")
    local nthreads = tonumber(args[2] or "1")
    octet = tonumber(args[3] or "10")
    for line in io.lines(file) do
        if line ~= "" then
            count = count + 1
            paths[count] = line
        end
    end
    assert(count > 0, "no tokens in " .. file)
    -- Threads start at different places in the list and walk all of it, round and round.
    i = math.floor(count * id / nthreads)
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
    i = i % count + 1
    headers["X-Forwarded-For"] = client()
    return wrk.format("GET", paths[i], headers)
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
            .. "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, summary.duration,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        e.status, e.connect, e.read, e.write, e.timeout))
end
