-- Provisioning code redemption: each pending code once. Arguments: prefix, a file of codes.
local codes, prefix, n = {}, "c", 0
function init(args)
  prefix = args[1]
  for line in io.lines(args[2]) do codes[#codes + 1] = line end
end
function request()
  n = n + 1
  local code = codes[((n - 1) % #codes) + 1]
  local mac = string.format("%012X", (tonumber(prefix) or 0) * 16777216 + n)
  local body = string.format('{"code":"%s","mac":"%s","model":"IP112","firmware":"13r1"}', code, mac)
  return wrk.format("POST", "/device/api/v1/code", {["Content-Type"] = "application/json"}, body)
end
