"""How fast a token redemption could be on this stack, beside the product's: the lower
bound for the device endpoints' throughput targets.

It loads the data of `make bench` (bench/device_endpoints.py) into a fresh PostgreSQL
database, serves bench/floor_app.py under gunicorn with the product's settings and
gunicorn configuration, and alternates wrk runs of:

- `/healthz`, the bare view of `make bench` (answered by a middleware near the top);
- `/bench/bare`, a bare Django view behind the whole middleware stack and URL resolution,
  the reference the performance issue names;
- token redemption by new devices through the product's endpoint;
- the same redemption at `/bench/floor`: the product's service and rate limits with no
  Django request handling, middleware, DRF, validation or connection pool around them.

It prints each one's req/s and p99 and its ratio (of medians) to both bare views.

    .venv/bin/python bench/redemption_floor.py [--rounds 3] [--seconds 8] [--connections 64]

The database is dropped afterwards, also when interrupted.
"""

from __future__ import annotations

import json
import statistics
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.device_endpoints import (  # noqa: E402
    _free_port,
    _wrk,
    arguments,
    loaded_database,
    serve,
)


def _redeem_once(base: str, path: str, token: str) -> None:
    """One redemption, to fail early when a path does not redeem."""
    body = {"token": token, "deviceId": f"CHECK_{path[-5:]}", "appId": "WFC_VOICE_ANDROID"}
    body.update(model="TC52", appVersion="9.0.22410")
    request = urllib.request.Request(  # noqa: S310 (http:// on loopback)
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if "bootstrap" not in json.loads(response.read()):
            raise SystemExit(f"{path}: no bootstrap in the answer")


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])

    with loaded_database() as (env, files):
        port = _free_port()
        server = serve(env, port)
        try:
            _measure(f"http://127.0.0.1:{port}", str(files["tokens"]), args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _measure(base: str, tokens: str, args) -> None:
    first_token = Path(tokens).read_text().split("\n", 1)[0]
    for path in ("/device/api/v1/bootstrap", "/bench/floor"):
        _redeem_once(base, path, first_token)
    runs = {
        "bare view (/healthz)": ("bare.lua", []),
        "bare view (/bench/bare)": ("bare_view.lua", []),
        "redemption, product": ("redeem_new.lua", [tokens]),
        "redemption, floor": ("redeem_new.lua", [tokens, "/bench/floor"]),
    }
    results: dict[str, list[dict]] = {label: [] for label in runs}
    for round_ in range(args.rounds):
        for n, (label, (script, extra)) in enumerate(runs.items()):
            prefix = [f"f{round_}{n}"] if extra else []
            measured = _wrk(f"{base}/", script, [*prefix, *extra], args.seconds, args.connections)
            if measured["non2xx"]:
                raise SystemExit(f"{label}: {measured['non2xx']} answers were not 2xx")
            results[label].append(measured)
            print(f"round {round_ + 1} {label}: {measured['rps']:.0f} req/s", flush=True)
    print()
    medians = {
        label: statistics.median(m["rps"] for m in measured) for label, measured in results.items()
    }
    healthz, bare = medians["bare view (/healthz)"], medians["bare view (/bench/bare)"]
    print(f"{'':<24} {'req/s':>8} {'p99 ms':>8} {'to /healthz':>12} {'to /bench/bare':>15}")
    for label, measured in results.items():
        p99 = statistics.median(m["p99"] for m in measured)
        print(
            f"{label:<24} {medians[label]:>8.0f} {p99:>8.1f} "
            f"{medians[label] / healthz:>12.3f} {medians[label] / bare:>15.3f}"
        )


if __name__ == "__main__":
    main()
