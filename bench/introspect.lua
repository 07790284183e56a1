-- S2: introspection of one valid token (TOKEN), Basic-authenticated (BASIC).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = "token=" .. os.getenv("TOKEN")
