-- wrk script for the etcd v2 keys API. Modes (first script argument):
--   put   PUT <prefix>t<thread>k<n mod keys> with a 256-byte form value
--   get   GET <prefix>k<n mod keys>            (keys must exist)
--   qget  same with ?quorum=true
--   path  GET <prefix> as given (e.g. a dir with ?recursive=true&sorted=true)
-- WRK_HOSTS (env, "host:port,host:port") pins thread i to host i mod n, so one wrk process can
-- spread its connections over the members of a cluster. WRK_AUTH (env), when set, is sent as
-- the Authorization header of every request. done() prints one JSON line.
local hosts = {}
for h in string.gmatch(os.getenv("WRK_HOSTS") or "", "[^,]+") do
  table.insert(hosts, h)
end
local nextThread = 0

function setup(thread)
  if #hosts > 0 then
    local h = hosts[(nextThread % #hosts) + 1]
    local host, port = string.match(h, "([^:]+):(%d+)")
    thread.addr = wrk.lookup(host, port)[1]
  end
  thread:set("threadId", nextThread)
  nextThread = nextThread + 1
end

local mode, prefix, keys, counter = "put", "/v2/keys/bench/", 1000, 0
local putBody = "value=" .. string.rep("v", 256)
local putHeaders = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local getHeaders = {}
local auth = os.getenv("WRK_AUTH")
if auth ~= nil and auth ~= "" then
  putHeaders["Authorization"] = auth
  getHeaders["Authorization"] = auth
end

function init(args)
  mode = args[1] or mode
  prefix = args[2] or prefix
  keys = tonumber(args[3] or keys)
end

function request()
  counter = counter + 1
  local n = counter % keys
  if mode == "put" then
    return wrk.format("PUT", prefix .. "t" .. threadId .. "k" .. n, putHeaders, putBody)
  elseif mode == "get" then
    return wrk.format("GET", prefix .. "k" .. n, getHeaders)
  elseif mode == "qget" then
    return wrk.format("GET", prefix .. "k" .. n .. "?quorum=true", getHeaders)
  end
  return wrk.format("GET", prefix, getHeaders)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"bytes":%d,"errConnect":%d,"errRead":%d,"errWrite":%d,' ..
    '"errStatus":%d,"errTimeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
