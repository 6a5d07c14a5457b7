-- wrk script (bench/load_wrk.py): POST /v1/decide/position with the bodies of the file $WRK_BODIES (one JSON object a line), in turn.
local bodies, i = {}, 0
local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = os.getenv("WRK_KEY")}

function init(args)
  for line in io.lines(os.getenv("WRK_BODIES")) do bodies[#bodies + 1] = line end
end

function request()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/decide/position", headers, bodies[i])
end
