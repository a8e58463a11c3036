-- wrk 4.1 script of the invsys benchmark (bench/run.sh).
--
--   wrk -t T -c C ... URL -- get
--   wrk -t T -c C ... URL -- post RUN MAX CAR_ID [CAR_ID ...]
--
-- Latency is measured here, per request, with a monotonic wall clock
-- (LuaJIT ffi: clock_gettime(CLOCK_MONOTONIC)), from request() (just before
-- wrk writes the request) to response() (the response fully parsed).
-- wrk's own --latency percentiles are not used: wrk 4.1 adds synthetic
-- "corrected" samples for every request slower than the mean.
--
-- Pairing a response with its request: wrk's Lua hooks do not say which
-- connection a response came on, so every request carries a per-thread
-- sequence number in "X-Bench-Seq", which the benchmark's nginx echoes in
-- "X-Bench-Echo" (an add_header in the server include that run.sh adds).
-- Any number of connections per wrk thread is then timed correctly. A
-- response without a known echo is counted as "unmatched" (it should never
-- happen) and is not timed.
--
-- "post" mode: every request books a fresh one-minute interval. A per-thread
-- counter advances, and the interval's slot is (RUN, thread, counter), so no
-- two requests of any thread, of any run, ever get overlapping intervals
-- (a 409 means this generator is wrong). Requests go round-robin over the
-- given cars. MAX > 0: each thread stops after MAX responses (case (e),
-- so that a car's history is not swamped by the run's own bookings); rps is
-- then the responses over the time from the first request to the last
-- response, since wrk's own duration runs on to the -d limit.
--
-- done() prints one line "BENCH_JSON {...}" for run.sh.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec_t")

local function now_us()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- ---------------------------------------------------------------- main state

local threads = {}
local thread_count = 0

function setup(thread)
    thread_count = thread_count + 1
    thread:set("tid", thread_count)
    threads[thread_count] = thread
end

-- -------------------------------------------------------------- thread state

-- Read by the main state with thread:get(), which sees only globals:
hist = {}       -- latency histogram, microseconds -> count
statuses = {}   -- HTTP status -> count
unmatched = 0   -- responses that could not be paired with their request
completed = 0   -- responses
first_us = nil  -- start of the first request
last_us = nil   -- end of the last response
capped = false  -- stopped after MAX responses

local mode = nil
local get_prefix, get_suffix = nil, nil
local cars = {}
local counter = 0
local first_slot = 0
local seq = 0
local max_responses = 0
local started = {}   -- sequence number -> start time (µs)

-- Exact below 1 ms, three significant digits above (at most 1% off), so
-- the histogram stays small.
local function record(us)
    local k = math.floor(us)
    if k >= 1000 then
        local m = 10 ^ (math.floor(math.log10(k)) - 2)
        k = math.floor(k / m) * m
    end
    hist[k] = (hist[k] or 0) + 1
end

-- Slots: one minute each from 2100-01-01T00:00:00Z.
local BASE = 4102444800           -- 2100-01-01T00:00:00Z
local PER_THREAD = 1000000        -- requests per thread and run, at most
local PER_RUN = 100 * PER_THREAD  -- 100 threads per run, at most

local function interval_body(slot)
    local from = BASE + slot * 60
    return '{"from_datetime":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", from) ..
        '","to_datetime":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", from + 60) ..
        '","allocation_type":"booking","description":"bench"}'
end

-- The admin key bench/run.sh made (BENCH_KEY).
auth = "Bearer " .. (os.getenv("BENCH_KEY") or "")

function init(args)
    mode = args[1]
    local tid = wrk.thread:get("tid")
    if mode == "get" then
        -- The fixed request, split around the sequence number.
        local req = wrk.format("GET", nil, { ["X-Bench-Seq"] = "@SEQ@", ["Authorization"] = auth })
        local at = req:find("@SEQ@", 1, true)
        get_prefix, get_suffix = req:sub(1, at - 1), req:sub(at + 5)
    elseif mode == "post" then
        local run_index = tonumber(args[2])
        max_responses = tonumber(args[3])
        for i = 4, #args do cars[#cars + 1] = args[i] end
        if run_index == nil or max_responses == nil or #cars == 0 then
            error("post mode needs: post RUN MAX CAR_ID [CAR_ID ...]")
        end
        if tid > 100 or run_index >= 40 then
            error("post mode: at most 100 threads and 40 runs (interval slots)")
        end
        first_slot = run_index * PER_RUN + (tid - 1) * PER_THREAD
        counter = first_slot
    else
        error("first script argument must be 'get' or 'post', got " .. tostring(mode))
    end
end

function request()
    seq = seq + 1
    local req
    if mode == "get" then
        req = get_prefix .. seq .. get_suffix
    else
        if counter - first_slot >= PER_THREAD then
            error("post mode: more than " .. PER_THREAD .. " requests in one thread")
        end
        local car = cars[(counter % #cars) + 1]
        req = wrk.format("POST", "/api/cars/" .. car .. "/allocations",
            { ["Content-Type"] = "application/json", ["X-Bench-Seq"] = seq, ["Authorization"] = auth },
            interval_body(counter))
        counter = counter + 1
    end
    local t = now_us()
    started[seq] = t
    first_us = first_us or t
    return req
end

function response(status, headers, body)
    local t = now_us()
    local echo = tonumber(headers["X-Bench-Echo"])
    local t0 = echo and started[echo]
    if t0 then
        record(t - t0)
        started[echo] = nil
    else
        unmatched = unmatched + 1
    end
    statuses[status] = (statuses[status] or 0) + 1
    completed = completed + 1
    last_us = t
    if max_responses > 0 and completed >= max_responses then
        capped = true
        wrk.thread:stop()
    end
end

-- ---------------------------------------------------------------- main state

local function percentile(keys, merged, total, p)
    local rank = math.ceil(total * p)
    if rank < 1 then rank = 1 end
    local seen = 0
    for _, k in ipairs(keys) do
        seen = seen + merged[k]
        if seen >= rank then return k end
    end
    return keys[#keys]
end

function done(summary, latency, requests)
    local merged, total, sum, not_paired = {}, 0, 0, 0
    local any_capped, done_total, first, last = false, 0, nil, nil
    local status_total = {}
    for _, thread in ipairs(threads) do
        for k, n in pairs(thread:get("hist") or {}) do
            merged[k] = (merged[k] or 0) + n
            total = total + n
            sum = sum + k * n
        end
        for code, n in pairs(thread:get("statuses") or {}) do
            status_total[code] = (status_total[code] or 0) + n
        end
        not_paired = not_paired + (thread:get("unmatched") or 0)
        any_capped = any_capped or thread:get("capped")
        done_total = done_total + (thread:get("completed") or 0)
        local f, l = thread:get("first_us"), thread:get("last_us")
        if f and (first == nil or f < first) then first = f end
        if l and (last == nil or l > last) then last = l end
    end
    local keys = {}
    for k in pairs(merged) do keys[#keys + 1] = k end
    table.sort(keys)

    local p50, p90, p99, p999, max, mean = 0, 0, 0, 0, 0, 0
    if total > 0 then
        p50 = percentile(keys, merged, total, 0.50)
        p90 = percentile(keys, merged, total, 0.90)
        p99 = percentile(keys, merged, total, 0.99)
        p999 = percentile(keys, merged, total, 0.999)
        max = keys[#keys]
        mean = sum / total
    end

    local ok, non2xx = 0, 0
    local parts = {}
    for code, n in pairs(status_total) do
        if code >= 200 and code < 300 then ok = ok + n else non2xx = non2xx + n end
        parts[#parts + 1] = string.format('"%d":%d', code, n)
    end
    table.sort(parts)

    local e = summary.errors
    local seconds = summary.duration / 1000000
    local requests = summary.requests
    if any_capped and first and last and last > first then
        seconds = (last - first) / 1000000
        requests = done_total
    end
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"ok":%d,"non2xx":%d,' ..
        '"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
        '"unmatched":%d,"samples":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
        '"mean_us":%.1f}\n',
        requests, seconds, requests / seconds, ok, non2xx,
        table.concat(parts, ","), e.connect, e.read, e.write, e.timeout,
        not_paired, total, p50, p90, p99, p999, max, mean))
end
