"""Throughput of the device endpoints through a real server, against bare views of the
same server (`make bench` runs it).

It creates a fresh PostgreSQL database (no ANALYZE, as a new deployment has), loads 10
customers with 1,000 tokens, 10,000 devices and 5,000 Standard seats each (1,000 devices
already licensed, 3,000 pending provisioning codes, 1,000 desk phones bound to their
phone file URL with two lines each, a software job and two config jobs), serves the
product as `make serve` does with production settings (plus bench/floor_app.py's paths),
and drives it from this machine with wrk, bounded in time, on 127.0.0.1 only. For every
endpoint it alternates runs of two bare references and of the endpoint, round after
round: `/healthz` (answered by a middleware near the top, before any view) and
`/bench/bare` (a bare Django view behind the whole middleware stack). It prints per
endpoint: req/s, p50, p99, non-2xx answers, the SQL statements one request runs, and the
ratio to each reference: the median of the per-round ratios, with their range, and the
ratio of the endpoint's median to the reference runs' median. Rate limits stay on (their
cost is part of each request) with limits high enough that one load generator is not
throttled.

    .venv/bin/python bench/device_endpoints.py [--rounds 3] [--seconds 8] [--connections 64]

The database is dropped afterwards, also when interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = ROOT / "bench" / "wrk"
ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
CUSTOMERS = 10
TOKENS = 1000
DEVICES = 10_000
SEATS = 5000
LICENSED = 1000
CODES = 3000
PHONES = 1000
# What a Snom D785 sends (phones.files.simulator.USER_AGENTS).
PHONE_AGENT = "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 1.1.5-IFX-05.01.12)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(database_url: str, cache_db: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CACHE_", "DEVICE_", "CODE_", "DB_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        # Phone files are HTTPS only: the wrk script says so as a TLS proxy in front would.
        SECURE_PROXY_SSL_HEADER="true",
        ZTP_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        CACHE_URL=f"redis://127.0.0.1:6379/{cache_db}",
        CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{cache_db}",
        # One load generator on one address: limits high enough not to throttle it, but
        # on, so their cost is in every request.
        DEVICE_RATE_PER_IP="100000000/min",
        DEVICE_RATE_PER_TOKEN="100000000/min",
        DEVICE_FAILURES_PER_IP="100000000/hour",
        CODE_FAILURES_MAX="100000000/hour",
        CODE_GUESS_ODDS_PER_DAY="1",
        CODE_REDEMPTIONS_PER_CUSTOMER="100000000/min",
        LOG_LEVEL="WARNING",
    )
    return env


def _load(work: Path) -> dict[str, Path]:
    """The customers' data, written set-wise; the wrk scripts' inputs as files."""
    from datetime import timedelta

    from django.db.models import F
    from django.utils import timezone

    from accounts.services import customer_create
    from core import crypto
    from devices.models import Device, DeviceKind
    from licensing.models import Assignment, Entitlement, LicenseType
    from phones.models import Category, ProvisioningCode
    from phones.services.codes import code_generate
    from provisioning.models import Bootstrap, Token
    from reports.models import AppId

    now = timezone.now()
    files = {
        name: work / f"{name}.txt"
        for name in ("tokens", "known", "license_held", "license_new", "codes", "phones")
    }
    known, held, fresh, codes, tokens, phones = [], [], [], [], [], []
    drawn: set[str] = set()
    for c in range(CUSTOMERS):
        customer = customer_create(name=f"Bench {c}", slug=f"bench-{c}")
        bootstrap = Bootstrap.objects.get(customer=customer, name="Direct-Access-Bootstrap")
        values = [f"bench{c}-{n:05}" for n in range(TOKENS)]
        Token.objects.bulk_create(
            Token(customer=customer, value=v, app_id=AppId.VOICE, bootstrap=bootstrap)
            for v in values
        )
        tokens += values
        devices = Device.objects.bulk_create(
            (
                Device(
                    customer=customer,
                    device_id=f"TC52_{c:02}{n:06}",
                    kind=DeviceKind.VENDOR,
                    model="TC52",
                    app_id=AppId.VOICE,
                    last_checkin=now,
                )
                for n in range(DEVICES)
            ),
            batch_size=5000,
        )
        line = Entitlement.objects.create(
            customer=customer,
            activation_id=f"bench-{c}-{secrets.token_hex(6)}",
            license_type=LicenseType.STANDARD,
            total=SEATS,
            expiration=now + timedelta(days=365),
        )
        Assignment.objects.bulk_create(
            Assignment(
                customer=customer,
                entitlement=line,
                device=device,
                license_type=LicenseType.STANDARD,
                feature="CUCM",
                last_contact=now,
            )
            for device in devices[:LICENSED]
        )
        Entitlement.objects.filter(pk=line.pk).update(used=F("used") + LICENSED)
        token = values[0]
        known += [f"{values[n % TOKENS]} {d.device_id}" for n, d in enumerate(devices)]
        held += [f"{token} {d.device_id}" for d in devices[:LICENSED]]
        fresh.append([f"{token} {d.device_id}" for d in devices[LICENSED:]])
        category = Category.objects.get(customer=customer)
        batch = []
        while len(batch) < CODES:
            code = code_generate()
            if code not in drawn:
                drawn.add(code)
                batch.append(code)
        ProvisioningCode.objects.bulk_create(
            ProvisioningCode(
                customer=customer,
                category=category,
                code=code,
                expires_at=now + timedelta(days=7),
            )
            for code in batch
        )
        codes += batch
        phones += _desk_phones(customer, category, now, crypto.seal({"password": "s3cret#1"}))
    # New assignments: customers taken in turn, so every pool is used evenly.
    interleaved = [row for group in zip(*fresh, strict=True) for row in group]
    files["tokens"].write_text("\n".join(tokens) + "\n")
    files["known"].write_text("\n".join(known) + "\n")
    files["license_held"].write_text("\n".join(held) + "\n")
    files["license_new"].write_text("\n".join(interleaved) + "\n")
    files["codes"].write_text("\n".join(codes) + "\n")
    files["phones"].write_text("\n".join(phones) + "\n")
    return files


def _desk_phones(customer, category, now, sealed: str) -> list[str]:
    """The customer's Snom D785s, bound as their first fetch from 127.0.0.1 would bind
    them; "secret MAC" per phone."""
    from devices.models import Device, DeviceKind
    from phones.files.access import file_secret
    from phones.models import ConfigJob, PhoneBinding, PhoneLine, SoftwareJob
    from provisioning.models import Bootstrap

    Bootstrap.objects.filter(pk=category.bootstrap_id).update(
        parameters={"sipServer": "sip.bench.example", "ntpServer": "ntp.bench.example"}
    )
    SoftwareJob.objects.create(
        customer=customer, category=category, firmware={"url": "https://fw.example/d785.bin"}
    )
    for kind, value in (("ntp", {"ntpServer": "ntp2.bench.example"}), ("tz", {"timeZone": "UTC"})):
        ConfigJob.objects.create(
            customer=customer, category=category, config_type=kind, parameters=value
        )
    devices = Device.objects.bulk_create(
        Device(
            customer=customer,
            device_id=f"000413{customer.pk:02X}{n:04X}",
            kind=DeviceKind.DESK_PHONE,
            model="D785",
            category=category.name,
        )
        for n in range(PHONES)
    )
    PhoneBinding.objects.bulk_create(
        PhoneBinding(
            customer=customer,
            device=d,
            vendor="snom",
            model="D785",
            network="127.0.0.0/24",
            bound_at=now,
        )
        for d in devices
    )
    PhoneLine.objects.bulk_create(
        PhoneLine(
            customer=customer,
            device=d,
            position=position,
            extension=f"{position}{n:04}",
            display_name=f"Desk {n}",
            password_sealed=sealed,
        )
        for n, d in enumerate(devices)
        for position in (1, 2)
    )
    secret = file_secret(customer)
    return [f"{secret} {d.device_id}" for d in devices]


def _statements(files: dict[str, Path]) -> dict[str, int]:
    """SQL statements of one request of each kind (BEGIN/COMMIT and savepoints aside)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    known = files["known"].read_text().split("\n", 2)
    token, device = known[0].split()
    new_token = files["tokens"].read_text().split("\n", 1)[0]
    held_token, held_device = files["license_held"].read_text().split("\n", 1)[0].split()
    code = files["codes"].read_text().split("\n", 1)[0]
    requests = {
        "redeem, new device": (
            "/device/api/v1/bootstrap",
            {"token": new_token, "deviceId": "STMT_NEW_1", "appId": "WFC_VOICE_ANDROID"},
        ),
        "redeem, known device": (
            "/device/api/v1/bootstrap",
            {"token": token, "deviceId": device, "appId": "WFC_VOICE_ANDROID"},
        ),
        "license, held": (
            "/device/api/v1/license",
            {"token": held_token, "deviceId": held_device, "feature": "CUCM"},
        ),
        "license, new": (
            "/device/api/v1/license",
            {"token": token, "deviceId": "STMT_NEW_1", "feature": "CUCM"},
        ),
        "check-in": ("/device/api/v1/checkin", {"token": token, "deviceId": device}),
        "code": ("/device/api/v1/code", {"code": code, "mac": "0090330000FF"}),
    }
    secret, mac = files["phones"].read_text().split("\n", 1)[0].split()
    requests["phone file"] = (f"/phones/{secret}/snom/{mac}.xml", None)
    counts = {}
    for name, (path, body) in requests.items():
        with CaptureQueriesContext(connection) as captured:
            if body is None:
                response = client.get(
                    path,
                    HTTP_USER_AGENT=PHONE_AGENT,
                    HTTP_X_FORWARDED_PROTO="https",
                    REMOTE_ADDR="127.0.0.1",
                )
            else:
                response = client.post(path, body, content_type="application/json")
        if response.status_code >= 300:
            raise SystemExit(f"{name}: {response.status_code} {response.content[:200]}")
        counts[name] = sum(
            1
            for q in captured.captured_queries
            if not re.match(r"(BEGIN|COMMIT|SAVEPOINT|RELEASE SAVEPOINT)\b", q["sql"])
        )
    return counts


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _wrk(url: str, script: str, args: list[str], seconds: int, connections: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(WRK_DIR / script),
            url,
            "--",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {}
    for pct, value, unit in _LATENCY.findall(out):
        latency[pct] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p50": latency.get("50", 0.0),
        "p99": latency.get("99", 0.0),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def arguments(description: str) -> argparse.Namespace:
    """The options of the wrk benchmarks; wrk must be installed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (make bench installs it)")
    return args


def serve(env: dict[str, str], port: int) -> subprocess.Popen:
    """The product as `make serve` runs it (gunicorn, config/gunicorn.py, 2 workers x 8
    threads), with bench/floor_app.py's two extra paths, on 127.0.0.1:`port`; returns
    once it answers."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "bench.floor_app:application",
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            # As `make serve`.
            "--workers",
            "2",
            "--threads",
            "8",
            "--graceful-timeout",
            "5",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "bench.floor_settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return server
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise SystemExit("the server did not start") from None
            time.sleep(0.3)


def main() -> None:
    args = arguments(__doc__.split("\n\n")[0])

    with loaded_database() as (env, files):
        statements = _statements(files)
        port = _free_port()
        server = serve(env, port)
        try:
            _measure(port, files, statements, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


# The two references each endpoint's runs alternate with.
REFERENCES = {"/healthz": "bare.lua", "/bench/bare": "bare_view.lua"}


def _measure(port: int, files: dict[str, Path], statements: dict[str, int], args) -> None:
    base = f"http://127.0.0.1:{port}"
    endpoints = [
        ("redeem, new device", "redeem_new.lua", [str(files["tokens"])]),
        ("redeem, known device", "redeem_known.lua", [str(files["known"])]),
        ("license, new", "license.lua", [str(files["license_new"])]),
        ("license, held", "license.lua", [str(files["license_held"])]),
        ("check-in", "checkin.lua", [str(files["known"])]),
        ("code", "code.lua", [str(files["codes"])]),
        ("phone file", "phone_file.lua", [str(files["phones"]), PHONE_AGENT]),
    ]
    # A code is used once: each round redeems codes of its own (the first went to
    # counting statements).
    codes = files["codes"].read_text().split()[1:]
    share = len(codes) // args.rounds
    code_files = []
    for round_ in range(args.rounds):
        code_files.append(files["codes"].with_name(f"codes-{round_}.txt"))
        code_files[-1].write_text("\n".join(codes[round_ * share : (round_ + 1) * share]))
    # Per endpoint and round: the reference runs just before, and the endpoint's run.
    results: dict[str, list[tuple[dict[str, dict], dict]]] = {n: [] for n, _, _ in endpoints}
    for round_ in range(args.rounds):
        for label, script, extra in endpoints:
            if label == "code":
                extra = [str(code_files[round_])]
            prefix = f"{round_}{abs(hash(label)) % 1000}"
            bare = {
                path: _wrk(f"{base}/", lua, [], args.seconds, args.connections)
                for path, lua in REFERENCES.items()
            }
            measured = _wrk(f"{base}/", script, [prefix, *extra], args.seconds, args.connections)
            results[label].append((bare, measured))
            print(
                f"round {round_ + 1} {label}: {measured['rps']:.0f} req/s ("
                + ", ".join(f"{path} {b['rps']:.0f}" for path, b in bare.items())
                + f"), non-2xx {measured['non2xx']}",
                flush=True,
            )
    print()
    # Two ratios to each reference: per round, to its run just before (the median of
    # those, and their range); and of medians, the endpoint's to every run of the
    # reference. The second is steadier where a reference run lands on the database's
    # background work (autovacuum after the inserts of the run before), which slows it
    # several times over.
    print(f"{'':<59}" + "".join(f"{'to ' + path:^34}" for path in REFERENCES))
    print(
        f"{'endpoint':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'SQL':>4}"
        + f" {'ratio (range)':>22} {'of medians':>10}" * len(REFERENCES)
    )
    reference_runs = {
        path: [b[path]["rps"] for runs in results.values() for b, _ in runs] for path in REFERENCES
    }
    medians = {path: statistics.median(runs) for path, runs in reference_runs.items()}
    for path, runs in reference_runs.items():
        print(f"{'bare view ' + path:<22} {medians[path]:>8.0f} ({min(runs):.0f}-{max(runs):.0f})")
    for label, runs in results.items():
        rps = statistics.median(m["rps"] for _, m in runs)
        columns = []
        for path in REFERENCES:
            ratios = [m["rps"] / b[path]["rps"] for b, m in runs]
            columns.append(
                f" {statistics.median(ratios):>8.3f} ({min(ratios):.3f}-{max(ratios):.3f})"
                f" {rps / medians[path]:>10.3f}"
            )
        print(
            f"{label:<22} {rps:>8.0f} "
            f"{statistics.median(m['p50'] for _, m in runs):>8.1f} "
            f"{statistics.median(m['p99'] for _, m in runs):>8.1f} "
            f"{sum(m['non2xx'] for _, m in runs):>8} {statements[label]:>4}" + "".join(columns)
        )


@contextmanager
def loaded_database(cache_db: int = 9) -> Iterator[tuple[dict[str, str], dict[str, Path]]]:
    """A fresh PostgreSQL database with the bench data (no ANALYZE), and the server's
    environment for it (also set in this process, set up for Django); the database is
    dropped afterwards, also when interrupted."""
    import psycopg

    name = f"pm_bench_{secrets.token_hex(4)}"
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = _server_env(database_url, cache_db)
    os.environ.update(env)
    work = Path(tempfile.mkdtemp(prefix="pm-bench-"))
    try:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        files = _load(work)
        print(f"loaded in {time.perf_counter() - started:.0f} s (no ANALYZE)")
        subprocess.run(
            ["redis-cli", "-n", str(cache_db), "flushdb"], check=True, capture_output=True
        )
        yield env, files
    finally:
        shutil.rmtree(work, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
