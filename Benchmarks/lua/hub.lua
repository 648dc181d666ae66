-- wrk script for the AllianceHub benchmarks. Chosen by environment variables (set by Benchmarks/run):
--   BENCH_MODE    plain (the URL as given), institution, catalog, or post
--   BENCH_PATH    post mode: the path to POST to
--   BENCH_BODY    post mode: JSON body; every "{i}" becomes a number unique to the request (thread.counter)
--   BENCH_TOKEN   bearer token sent as Authorization (optional)
--   BENCH_COUNT   institution mode: ids are BENCH_PREFIX .. zero-padded 1..BENCH_COUNT (6 digits)
--   BENCH_PREFIX  institution mode: id prefix
--   BENCH_CODES   catalog mode: file with one catalog code per line; requests cycle over them
--   check mode:   POST /v1/recognition/checks for a uniformly random patient of BENCH_COUNT (the patients
--                 bench.py bulk-load wrote) and item BENCH_ITEM
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles (in microseconds).

local mode = os.getenv("BENCH_MODE") or "plain"
local token = os.getenv("BENCH_TOKEN")
local headers = {}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

local count = tonumber(os.getenv("BENCH_COUNT") or "0")
local prefix = os.getenv("BENCH_PREFIX") or "bench-"
local paths = {}
local position = 1
local threads = {}

-- thread_index is a global that setup() gives each thread's Lua state before its init() runs
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_index or 0) * 7919)
  if mode == "catalog" then
    local file = assert(io.open(os.getenv("BENCH_CODES"), "r"))
    for line in file:lines() do
      if line ~= "" then table.insert(paths, "/v1/catalog/items/" .. escape(line)) end
    end
    file:close()
    assert(#paths > 0, "no catalog codes in " .. os.getenv("BENCH_CODES"))
    -- each thread starts at a different place in the list
    position = ((thread_index or 0) * 37) % #paths + 1
  elseif mode == "institution" then
    assert(count > 0, "BENCH_COUNT must be > 0")
  elseif mode == "post" then
    headers["Content-Type"] = "application/json"
    assert(os.getenv("BENCH_PATH") and os.getenv("BENCH_BODY"), "post mode needs BENCH_PATH and BENCH_BODY")
  elseif mode == "check" then
    headers["Content-Type"] = "application/json"
    assert(count > 0, "BENCH_COUNT must be > 0")
  end
end

-- The resident ID of benchmark patient n, as bench.py bench_patient makes it (GB 11643, MOD 11-2 check).
local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local checks = "10X98765432"
local function patient(n)
  local first = "420106" .. os.date("!%Y%m%d", (n % 19000) * 86400) .. string.format("%03d", math.floor(n / 19000))
  local total = 0
  for k = 1, 17 do total = total + tonumber(first:sub(k, k)) * weights[k] end
  local at = total % 11 + 1
  return first .. checks:sub(at, at)
end
local check_item = os.getenv("BENCH_ITEM") or "K"

local post_path = os.getenv("BENCH_PATH")
local post_body = os.getenv("BENCH_BODY")
local sent = 0
-- a prefix unique to this process and thread, so repeated runs against one hub never reuse a number
local run_prefix = tostring(os.time() % 1000000)

function request()
  if mode == "institution" then
    -- uniform random over the whole store, so reads are not served from a handful of hot pages
    local path = string.format("/v1/institutions/%s%06d", prefix, math.random(1, count))
    return wrk.format("GET", path, headers)
  elseif mode == "post" then
    sent = sent + 1
    local unique = string.format("%s%d%07d", run_prefix, thread_index or 0, sent)
    return wrk.format("POST", post_path, headers, (post_body:gsub("{i}", unique)))
  elseif mode == "check" then
    local body = string.format('{"patient":"cn-resident-id|%s","item_code":"%s"}',
      patient(math.random(0, count - 1)), check_item)
    return wrk.format("POST", "/v1/recognition/checks", headers, body)
  elseif mode == "catalog" then
    local path = paths[position]
    position = position % #paths + 1
    return wrk.format("GET", path, headers)
  end
  return wrk.format("GET", nil, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9)))
end
