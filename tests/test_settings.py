"""Start-up configuration, exercised the way an operator meets it: `manage.py` in a fresh
process with a given environment.

Each case runs in a subprocess because settings are read once per process. Every variable
config/settings.py reads is first removed from the inherited environment (the developer's
shell, CI and pytest-env all set some), so a case sees only what it states; DATA_DIR is
the test's tmp_path so nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (PROJECT_ROOT / "config" / "settings.py").read_text()
# Read from the settings module itself so a variable added later is scrubbed too.
SETTINGS_VARIABLES = set(re.findall(r'env_\w+\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_SOURCE)) | {
    # Secrets may also come from a file: config.env reads NAME and NAME_FILE.
    f"{name}_FILE"
    for name in re.findall(r'env_(?:secret|file_or_value)\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS_SOURCE)
}

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "pm.example.com",
}

PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({{name: getattr(s, name) for name in {names!r}}}))"
)


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py *args` with only `env` (plus DATA_DIR=tmp_path) configured."""
    # The browser tests relax Django's async check for this process; a server never does.
    unset = {*SETTINGS_VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ = {k: v for k, v in os.environ.items() if k not in unset}
    environ["DATA_DIR"] = str(tmp_path)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def last_line(output: str) -> str:
    # Django 5.2's shell may first report the objects it imported automatically.
    return output.strip().splitlines()[-1]


def print_settings(tmp_path: Path, *names: str, **env: str) -> dict:
    result = manage(tmp_path, "shell", "-c", PRINT_SETTINGS.format(names=names), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(last_line(result.stdout))


def configuration_error(stderr: str) -> str:
    """The message of the ImproperlyConfigured that stopped start-up.

    Only the exception line counts: the traceback above it quotes settings.py source,
    which mentions every variable name whether or not the message does."""
    found = re.findall(r"^django\.core\.exceptions\.ImproperlyConfigured: (.*)$", stderr, re.M)
    assert found, f"no ImproperlyConfigured in stderr:\n{stderr}"
    return found[-1]


def test_scrubbed_environment_starts_cleanly(tmp_path):
    # The baseline for the failures below: the same runner with development defaults passes.
    result = manage(tmp_path, "check", DEBUG="true")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "variable", "bad_value"),
    [
        ({"DEBUG": "maybe"}, "DEBUG", "maybe"),
        ({"DEBUG": "false"}, "SECRET_KEY", None),
        ({"DEBUG": "true", "DATABASE_URL": "nonsense://x"}, "DATABASE_URL", "nonsense"),
        ({"DEBUG": "true", "LOGIN_FAILURE_LIMIT": "abc"}, "LOGIN_FAILURE_LIMIT", "abc"),
        ({"DEBUG": "true", "EMAIL_PORT": "-3"}, "EMAIL_PORT", "-3"),
        ({"DEBUG": "true", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL", "LOUD"),
        ({"DEBUG": "true", "CODE_GUESS_ODDS_PER_DAY": "2"}, "CODE_GUESS_ODDS_PER_DAY", "'2'"),
        ({"DEBUG": "true", "CODE_GUESS_ODDS_PER_DAY": "1e"}, "CODE_GUESS_ODDS_PER_DAY", "'1e'"),
        ({"DEBUG": "true", "PTT_SERVERS": '{"dev03b": {'}, "PTT_SERVERS", "not valid JSON"),
        (
            {"DEBUG": "true", "PTT_SERVERS": '{"dev03b": {"url": "https://ptt.example.com"}}'},
            "PTT_SERVERS",
            "api_key",
        ),
        (
            {
                "DEBUG": "true",
                "PTT_SERVERS": '{"dev03b": {"url": "ptt.example.com", "api_key": "k"}}',
            },
            "PTT_SERVERS",
            "dev03b",
        ),
        ({"DEBUG": "true", "LICENSE_BACKEND": "ldap"}, "LICENSE_BACKEND", "ldap"),
        (
            {"DEBUG": "true", "LICENSE_BACKEND": "http", "LICENSE_BACKEND_TOKEN": "t"},
            "LICENSE_BACKEND_URL",
            "required when LICENSE_BACKEND is http",
        ),
        (
            {
                "DEBUG": "true",
                "LICENSE_BACKEND": "http",
                "LICENSE_BACKEND_URL": "licenses.example.com",
                "LICENSE_BACKEND_TOKEN": "t",
            },
            "LICENSE_BACKEND_URL",
            "http:// or https://",
        ),
        (
            {
                "DEBUG": "true",
                "LICENSE_BACKEND": "http",
                "LICENSE_BACKEND_URL": "https://licenses.example.com",
            },
            "LICENSE_BACKEND_TOKEN",
            "required when LICENSE_BACKEND is http",
        ),
        (
            {"DEBUG": "true", "LICENSE_BACKEND": "file"},
            "LICENSE_BACKEND_FILE",
            "required when LICENSE_BACKEND is file",
        ),
        (
            {"DEBUG": "true", "LICENSE_BACKEND": "file", "LICENSE_BACKEND_FILE": "lic.xlsx"},
            "LICENSE_BACKEND_FILE",
            ".csv or .json",
        ),
        (
            {"DEBUG": "true", "LICENSE_BACKEND_URL": "https://licenses.example.com"},
            "LICENSE_BACKEND_URL",
            "only used when LICENSE_BACKEND is http",
        ),
    ],
    ids=[
        "debug",
        "secret-key",
        "database-url",
        "login-failure-limit",
        "email-port",
        "log-level",
        "code-guess-odds-range",
        "code-guess-odds-number",
        "ptt-servers-json",
        "ptt-servers-api-key",
        "ptt-servers-url",
        "license-backend",
        "license-backend-url-required",
        "license-backend-url",
        "license-backend-token-required",
        "license-backend-file-required",
        "license-backend-file-kind",
        "license-backend-url-unused",
    ],
)
def test_bad_configuration_stops_start_up_naming_the_variable(tmp_path, env, variable, bad_value):
    result = manage(tmp_path, "check", **env)

    assert result.returncode != 0
    message = configuration_error(result.stderr)
    assert message.startswith(f"{variable}:"), message
    if bad_value is not None:
        assert bad_value in message


def test_production_without_secret_key_does_not_generate_one(tmp_path):
    result = manage(tmp_path, "check", DEBUG="false")

    assert result.returncode != 0
    assert not (tmp_path / "secret_key").exists()


def test_development_secret_key_is_generated_once_and_reused(tmp_path):
    command = "from django.conf import settings; print(settings.SECRET_KEY)"

    first = manage(tmp_path, "shell", "-c", command, DEBUG="true")
    second = manage(tmp_path, "shell", "-c", command, DEBUG="true")

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    key_file = tmp_path / "secret_key"
    stored = key_file.read_text().strip()
    assert len(stored) >= 50
    assert last_line(first.stdout) == stored
    assert last_line(second.stdout) == stored
    # It signs sessions and tokens: nobody else on the machine may read it.
    assert key_file.stat().st_mode & 0o077 == 0


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_are_secure(tmp_path):
    values = print_settings(
        tmp_path,
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "DEBUG",
        **PRODUCTION,
    )

    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] > 0


@pytest.mark.parametrize(
    "env",
    [{"DEBUG": "true"}, PRODUCTION],
    ids=["development", "production"],
)
def test_celery_is_not_eager_unless_asked_even_without_a_broker(tmp_path, env):
    # Neither CELERY_TASK_ALWAYS_EAGER nor CELERY_BROKER_URL is set (both are scrubbed).
    values = print_settings(tmp_path, "CELERY_TASK_ALWAYS_EAGER", **env)

    assert values["CELERY_TASK_ALWAYS_EAGER"] is False


def test_the_scrub_covers_the_variables_these_cases_depend_on():
    # If the regex stopped matching, inherited values would silently leak into every case.
    assert {
        "DEBUG",
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_URL",
        "ALLOWED_HOSTS",
        "DATA_DIR",
    } <= SETTINGS_VARIABLES


def test_ptt_servers_are_read_and_errors_never_quote_the_key(tmp_path):
    servers = {"dev03b": {"url": "https://ptt.example.com", "api_key": "s3cret-key"}}

    values = print_settings(tmp_path, "PTT_SERVERS", DEBUG="true", PTT_SERVERS=json.dumps(servers))
    assert values["PTT_SERVERS"] == servers

    servers["dev03b"]["url"] = "ftp://ptt.example.com"
    result = manage(tmp_path, "check", DEBUG="true", PTT_SERVERS=json.dumps(servers))
    assert result.returncode != 0
    assert configuration_error(result.stderr).startswith("PTT_SERVERS:")
    assert "s3cret-key" not in result.stderr


def test_license_backend_is_read_and_errors_never_quote_the_token(tmp_path):
    http = {
        "LICENSE_BACKEND": "http",
        "LICENSE_BACKEND_URL": "https://licenses.example.com/",
        "LICENSE_BACKEND_TOKEN": "s3cret-token",
    }
    names = ("LICENSE_BACKEND", "LICENSE_BACKEND_URL", "LICENSE_BACKEND_TOKEN")
    assert print_settings(tmp_path, *names, DEBUG="true", **http) == http

    # A relative file is found from the project folder, like DATA_DIR.
    values = print_settings(
        tmp_path,
        "LICENSE_BACKEND_FILE",
        DEBUG="true",
        LICENSE_BACKEND="file",
        LICENSE_BACKEND_FILE="data/licenses.csv",
    )
    assert values["LICENSE_BACKEND_FILE"] == str(PROJECT_ROOT / "data" / "licenses.csv")

    for bad in ({"LICENSE_BACKEND_TOKEN": "s3cret token"}, {"LICENSE_BACKEND_URL": "ftp://x"}):
        result = manage(tmp_path, "check", DEBUG="true", **{**http, **bad})
        assert result.returncode != 0
        assert configuration_error(result.stderr).startswith(f"{next(iter(bad))}:")
        assert "s3cret" not in result.stderr


def test_sqlite_takes_concurrent_writes_and_postgresql_pools_connections(tmp_path):
    names = ["DATABASES"]
    code = PRINT_SETTINGS.format(names=names)
    sqlite = manage(tmp_path, "shell", "-c", code, DEBUG="true")
    options = json.loads(last_line(sqlite.stdout))["DATABASES"]["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]

    postgres = "postgres://postgres@127.0.0.1:5432/unused"
    pooled = manage(
        tmp_path, "shell", "-c", code, DEBUG="true", DATABASE_URL=postgres, DB_POOL_SIZE="4"
    )
    pool = json.loads(last_line(pooled.stdout))["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert (pool["max_size"], pool["timeout"]) == (4, 10)
    # A pool keeps its connections: asking for persistent ones as well is a mistake.
    both = manage(tmp_path, "check", DEBUG="true", DATABASE_URL=postgres, DB_CONN_MAX_AGE="60")
    assert both.returncode != 0
    assert "DB_CONN_MAX_AGE" in both.stderr
    unpooled = manage(
        tmp_path, "shell", "-c", code, DEBUG="true", DATABASE_URL=postgres, DB_POOL_SIZE="0"
    )
    assert "pool" not in json.loads(last_line(unpooled.stdout))["DATABASES"]["default"].get(
        "OPTIONS", {}
    )
