-- Token redemption by devices never seen before: a new device ID on every request,
-- spread over the customers' tokens. Arguments: run prefix, tokens file, and the path
-- when not the device endpoint's.
local tokens, prefix, n, path = {}, "r", 0, "/device/api/v1/bootstrap"
function init(args)
  prefix = args[1]
  path = args[3] or path
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
end
function request()
  n = n + 1
  local body = string.format(
    '{"token":"%s","deviceId":"NEW_%s_%d","appId":"WFC_VOICE_ANDROID","model":"TC52","appVersion":"9.0.22410"}',
    tokens[(n % #tokens) + 1], prefix, n)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
