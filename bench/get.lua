-- wrk script: GET with a bearer token. args: access token
function init(args)
  if args[1] then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
end
