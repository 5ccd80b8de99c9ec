-- wrk script: GET with a bearer token and If-None-Match. args: access token, etag (quoted)
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["If-None-Match"] = args[2]
end
