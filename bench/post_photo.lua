-- wrk script: POST /api/v1/inspections/{id}/photos, a multipart JPEG upload, new bytes every time.
-- args: access token, path of the JPEG, a tag of this wrk process, then the inspection ids to spread over.
-- Each upload appends a unique tail after the JPEG's end marker: decoders ignore it, its SHA-256 is new.
local threads = 0
local boundary = "----vm-bench-photo-boundary"

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  token, path, tag = args[1], args[2], args[3]
  ids = {}
  for i = 4, #args do ids[#ids + 1] = args[i] end
  local file = assert(io.open(path, "rb"))
  jpeg = file:read("*a")
  file:close()
  math.randomseed(os.time() * 1000 + thread_number * 7919 + tonumber(tag) * 104729)
  counter = math.random(0, #ids - 1)
  sent = 0
  head = "--" .. boundary .. "\r\n" ..
    'Content-Disposition: form-data; name="file"; filename="photo.jpg"\r\n' ..
    "Content-Type: image/jpeg\r\n\r\n"
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
end

function request()
  counter = counter + 1
  sent = sent + 1
  local id = ids[(counter % #ids) + 1]
  local tail = string.format("vm-bench %s %d %d %d", tag, thread_number, sent, math.random(0, 0x7fffffff))
  local body = head .. jpeg .. tail .. "\r\n--" .. boundary .. "--\r\n"
  return wrk.format(nil, "/api/v1/inspections/" .. id .. "/photos", nil, body)
end
