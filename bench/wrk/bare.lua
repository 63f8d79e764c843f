-- The bare view of the same stack: /healthz answers from a middleware, with no database.
function request()
  return wrk.format("GET", "/healthz")
end
