-- S5: authorization-code exchange for `openid` (an ID token signed per request): distinct
-- seeded codes (TOKENS, from line OFFSET on), the confidential client by HTTP Basic (BASIC),
-- the registered REDIRECT_URI.
local codes = {}
local next_index = 1
local suffix

function init(args)
  local offset = tonumber(os.getenv("OFFSET") or "0")
  local n = 0
  for line in io.lines(os.getenv("TOKENS")) do
    n = n + 1
    if n > offset then codes[#codes + 1] = line end
  end
  suffix = "&redirect_uri=" .. os.getenv("REDIRECT_URI")
  wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local c = codes[next_index] or "exhausted"
  next_index = next_index + 1
  return wrk.format("POST", nil, nil, "grant_type=authorization_code&code=" .. c .. suffix)
end
