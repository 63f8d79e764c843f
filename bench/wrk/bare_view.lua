-- The performance issue's reference: a bare Django view (JsonResponse) behind the whole
-- middleware stack and URL resolution (bench/floor_app.py).
function request()
  return wrk.format("GET", "/bench/bare")
end
