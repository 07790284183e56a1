-- S0: the ceiling, GET /health (no store access).
wrk.method = "GET"
