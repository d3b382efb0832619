-- wrk script for the serving load test: every connection replays real test sessions from
-- a TSV file (SessionId, ItemId, Time; header first), one event per request, against
-- POST /v1/sessions/{id}/events. Session ids get a per-thread prefix and a per-replay counter,
-- so that concurrent connections never share a session.
--   wrk -t1 -c64 -d30s --latency -s bench/loadtest.lua http://127.0.0.1:PORT -- TEST.tsv \
--       [RATE CONNECTIONS [PREFIX]]
local events = {}   -- {session, item}, in file order (grouped by session)
local position = 1
local round = 0
local counter = 0
local thread_id = 0

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local pause_ms = 0
local prefix = ""

function init(args)
  local path = args[1]
  -- args[2]: the offered rate in events/s over all connections (args[3] of them); each
  -- connection then pauses between its requests. Without it, every connection sends its next
  -- request as soon as it has the answer (a closed loop: the server's saturation rate).
  if args[2] and args[3] and tonumber(args[2]) > 0 then
    pause_ms = 1000 * tonumber(args[3]) / tonumber(args[2])
  end
  -- args[4]: a prefix of every session id, so that successive runs make new sessions.
  prefix = args[4] or ""
  local file = assert(io.open(path, "r"))
  local header = true
  for line in file:lines() do
    if header then
      header = false
    else
      local session, item = line:match("^([^\t]+)\t([^\t]+)")
      if session then table.insert(events, {session, item}) end
    end
  end
  file:close()
  -- Each thread starts at a different place of the file.
  position = 1 + ((thread_id - 1) * 7919) % #events
end

function delay()
  return pause_ms
end

function request()
  local event = events[position]
  position = position + 1
  if position > #events then
    position = 1
    round = round + 1
  end
  counter = counter + 1
  local path = "/v1/sessions/" .. prefix .. "t" .. thread_id .. "r" .. round .. "s" .. event[1] .. "/events"
  local body = '{"item":"' .. event[2] .. '","k":20}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write("------------------------------\n")
  io.write(string.format("requests %d, %.0f events/s\n", summary.requests,
                         summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         latency:percentile(99.9) / 1000, latency.max / 1000))
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, status %d\n",
                         errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
