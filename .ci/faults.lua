-- wrk script for .ci/faults.sh: reads (GET a page of organisations) or writes (POST a new
-- organisation, a unique name per run, thread and request), counting every answer by status and
-- the 503s that came without Retry-After.
--
-- Environment: FAULTS_TOKEN (an admin's access token), FAULTS_MODE (read or write), FAULTS_RUN
-- (the write names' prefix). Prints one line:
--   FAULTS_RESULT requests=N socket_errors=N no_retry_after=N s200=N s201=N s503=N ...

local token = os.getenv("FAULTS_TOKEN")
local mode = os.getenv("FAULTS_MODE") or "read"
local run = os.getenv("FAULTS_RUN") or "wrk"

local threads = {}
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

statuses = {}
no_retry_after = 0
local n = 0

function request()
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Accept"] = "application/json",
  }
  if mode == "write" then
    n = n + 1
    headers["Content-Type"] = "application/json"
    local body = string.format(
      '{"name":"%s %d-%d","kind":"pharma","sector":"private"}', run, thread_id, n)
    return wrk.format("POST", "/api/v1/organisations", headers, body)
  end
  return wrk.format("GET", "/api/v1/organisations?limit=20", headers)
end

function response(status, headers, body)
  local key = "s" .. status
  statuses[key] = (statuses[key] or 0) + 1
  if status == 503 and headers["retry-after"] == nil and headers["Retry-After"] == nil then
    no_retry_after = no_retry_after + 1
  end
end

function done(summary, latency, requests)
  local total, missing = {}, 0
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do
      total[k] = (total[k] or 0) + v
    end
    missing = missing + thread:get("no_retry_after")
  end
  local e = summary.errors
  local line = string.format("FAULTS_RESULT requests=%.0f socket_errors=%.0f no_retry_after=%d",
    summary.requests, e.connect + e.read + e.write + e.timeout, missing)
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    line = line .. string.format(" %s=%d", k, total[k])
  end
  io.write(line .. "\n")
end
