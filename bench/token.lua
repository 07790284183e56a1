-- client_credentials token requests with HTTP Basic (BASIC = base64 of id:secret).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BASIC")
wrk.body = "grant_type=client_credentials"
