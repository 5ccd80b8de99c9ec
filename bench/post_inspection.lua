-- wrk script: POST /api/v1/inspections with a fresh client_uuid per request.
-- args: access token, site id, lat, lon, and a tag of this wrk process (two wrk runs at once, --hosts 2,
-- must not draw the same client_uuids: a replay with another captured_at second is a 409)
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  token, site_id, lat, lon, tag = args[1], args[2], args[3], args[4], tonumber(args[5] or "0")
  math.randomseed(os.time() * 1000 + thread_number + tag * 104729)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%06x%06x",
    math.random(0, 0x7fffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end

function request()
  local body = string.format(
    '{"client_uuid":"%s","site_id":"%s","captured_at":"%s",' ..
    '"location":{"lat":%s,"lon":%s,"accuracy_m":8.5},' ..
    '"checklist":{"work_in_progress":true,"workers_present":true,"safety_violations":false,' ..
    '"quality_issues":false,"schedule_delay":false,"docs_on_site":true,"progress_percent":40},' ..
    '"severity":"none","notes":"bench"}',
    uuid4(), site_id, os.date("!%Y-%m-%dT%H:%M:%SZ"), lat, lon)
  return wrk.format(nil, "/api/v1/inspections", nil, body)
end

local statuses = {}
function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end
