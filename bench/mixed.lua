-- S7: a production-like mix over a seeded store (issue 13): 85% introspection of a random
-- live token (TOKENS), 10% client-credentials token requests, 3% refresh-token rotations
-- (distinct refresh tokens of a public client, REFRESH, from line OFFSET on), 2% revocations
-- (distinct tokens of the confidential client, REVOKE, from line OFFSET on). Every answer is
-- expected to be 200; wrk counts any other as non-2xx.
local live, refresh, revoke = {}, {}, {}
local next_refresh, next_revoke = 1, 1
local basic, public_id

local function slurp(file, into, offset)
  local n = 0
  for line in io.lines(file) do
    n = n + 1
    if n > offset then into[#into + 1] = line end
  end
end

function init(args)
  local offset = tonumber(os.getenv("OFFSET") or "0")
  slurp(os.getenv("TOKENS"), live, 0)
  slurp(os.getenv("REFRESH"), refresh, offset)
  slurp(os.getenv("REVOKE"), revoke, offset)
  basic = { ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Authorization"] = "Basic " .. os.getenv("BASIC") }
  public_id = os.getenv("CLIENT_ID")
  math.randomseed(os.time())
end

local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  local r = math.random(100)
  if r <= 85 then
    return wrk.format("POST", "/o/introspect/", basic, "token=" .. live[math.random(#live)])
  elseif r <= 95 then
    return wrk.format("POST", "/o/token/", basic, "grant_type=client_credentials")
  elseif r <= 98 then
    local t = refresh[next_refresh] or "exhausted"
    next_refresh = next_refresh + 1
    return wrk.format("POST", "/o/token/", form,
      "grant_type=refresh_token&refresh_token=" .. t .. "&client_id=" .. public_id)
  else
    local t = revoke[next_revoke] or "exhausted"
    next_revoke = next_revoke + 1
    return wrk.format("POST", "/o/revoke_token/", basic, "token=" .. t)
  end
end
