-- S2: introspection, Basic-authenticated (BASIC). With TOKENS set (a seeded store), each
-- request asks about a token drawn at random from that file, so the store is measured and not
-- one hot row; otherwise every request asks about the one valid TOKEN.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = "token=" .. os.getenv("TOKEN")

local tokens = nil

function init(args)
  local file = os.getenv("TOKENS")
  if file and file ~= "" then
    tokens = {}
    for line in io.lines(file) do tokens[#tokens + 1] = line end
    math.randomseed(os.time())
  end
end

function request()
  if tokens == nil then return wrk.request() end
  return wrk.format(nil, nil, nil, "token=" .. tokens[math.random(#tokens)])
end
