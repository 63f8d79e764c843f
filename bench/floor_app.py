"""The server of `make bench` and bench/redemption_floor.py: the product as `make serve`
runs it, plus

- `/bench/bare`, a bare Django view (`JsonResponse`) behind the product's whole
  middleware stack and URL resolution: the reference the performance issue names;
- `/bench/floor`, a token redemption with the least around it: the body read with
  `json.loads`, the same rate limits (one Redis round trip) and the product's own service
  (`token_redeem`, its one prepared statement), with no Django request handling,
  middleware, DRF or validation; the thread keeps its database connection from one
  request to the next (no pool checkout, no health check). Not a device endpoint: no
  checks beyond types, no History row for bad input. It shows what is left for
  everything else.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path

# The product's WSGI application; it sets Django up, which the imports below need.
product_application = get_wsgi_application()

from config.urls import urlpatterns as product_urlpatterns  # noqa: E402
from core import ratelimit  # noqa: E402
from gateway.services.redemption import token_redeem  # noqa: E402


def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]


def _floor(environ, start_response):
    data = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    fields = {key: data.get(key) for key in ("token", "deviceId", "appId", "model", "appVersion")}
    if not all(isinstance(value, str) for value in fields.values()):
        return _answer(start_response, "400 Bad Request", {"error": "bad_request"})
    address = environ.get("REMOTE_ADDR", "")
    wait = ratelimit.check(
        [
            ratelimit.Limit(f"device-ip:{address}", settings.DEVICE_RATE_PER_IP),
            ratelimit.Limit(
                f"device-fail:{address}", settings.DEVICE_FAILURES_PER_IP, counts=False
            ),
            ratelimit.Limit(f"device-token:{fields['token']}", settings.DEVICE_RATE_PER_TOKEN),
        ]
    )
    if wait is not None:
        return _answer(start_response, "429 Too Many Requests", {"error": "rate_limited"})
    outcome = token_redeem(
        token=fields["token"],
        device_id=fields["deviceId"],
        app_id=fields["appId"],
        model=fields["model"],
        app_version=fields["appVersion"],
        ip_address=address,
    )
    if not outcome.ok:
        return _answer(start_response, "404 Not Found", {"error": outcome.result})
    return _answer(start_response, "200 OK", {"bootstrap": outcome.bootstrap})


def _answer(start_response, status: str, body: dict):
    content = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
    )
    return [content]


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/bench/floor":
        return _floor(environ, start_response)
    return product_application(environ, start_response)
