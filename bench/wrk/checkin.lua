-- Check-ins of known devices. Arguments: prefix (unused), a file of "token deviceId" lines.
local pairs_, n = {}, 0
function init(args)
  for line in io.lines(args[2]) do
    local token, device = line:match("(%S+) (%S+)")
    pairs_[#pairs_ + 1] = {token, device}
  end
end
function request()
  n = n + 1
  local p = pairs_[(n * 7919 % #pairs_) + 1]
  local body = string.format('{"token":"%s","deviceId":"%s","appVersion":"9.0.22410"}', p[1], p[2])
  return wrk.format("POST", "/device/api/v1/checkin", {["Content-Type"] = "application/json"}, body)
end
