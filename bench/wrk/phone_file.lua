-- Desk phones fetching their Snom settings file. Arguments: prefix (unused), a file of
-- "secret MAC" lines, the User-Agent. Sent as a TLS proxy in front would pass it on.
local phones, n, agent = {}, 0, ""
function init(args)
  for line in io.lines(args[2]) do
    local secret, mac = line:match("(%S+) (%S+)")
    phones[#phones + 1] = {secret, mac}
  end
  agent = args[3]
end
function request()
  n = n + 1
  local p = phones[(n * 7919 % #phones) + 1]
  local path = string.format("/phones/%s/snom/%s.xml", p[1], p[2])
  return wrk.format("GET", path, {["User-Agent"] = agent, ["X-Forwarded-Proto"] = "https"})
end
