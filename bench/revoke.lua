-- S3 / S4: revocation of distinct pre-minted tokens, read from TOKENS starting at line OFFSET.
-- With BASIC set, the confidential client authenticates with HTTP Basic (S3); otherwise the
-- body carries CLIENT_ID alone, as the seed's public client does (S4).
local tokens = {}
local next_index = 1
local suffix = ""

function init(args)
  local offset = tonumber(os.getenv("OFFSET") or "0")
  local n = 0
  for line in io.lines(os.getenv("TOKENS")) do
    n = n + 1
    if n > offset then tokens[#tokens + 1] = line end
  end
  if os.getenv("BASIC") and os.getenv("BASIC") ~= "" then
    wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
  else
    suffix = "&client_id=" .. os.getenv("CLIENT_ID")
  end
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local t = tokens[next_index]
  next_index = next_index + 1
  if t == nil then
    -- Out of tokens: the run was too long for the pool. Send a marker the report counts.
    t = "exhausted"
  end
  return wrk.format("POST", nil, nil, "token=" .. t .. suffix)
end
