"""`manage.py ztp`: the card's actions without the browser (same service calls, lease and
Events), one line of outcome, non-zero exit on failure; and the fakes' commands."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from reports.models import Event
from ztp.models import Status, ZtpAccount
from ztp.sraps import SrapsAdapter

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def ztp(*args) -> str:
    out = io.StringIO()
    call_command("ztp", *args, stdout=out)
    return out.getvalue()


def test_onboard_rotate_check_status_disable(ready, sraps):
    line = ztp(
        "onboard", "--customer", "acme", "--vendor", "snom", "--base-url", "https://pm.example.com"
    )
    company = ZtpAccount.objects.get().company_id
    assert line == f"Snom (SRAPS): Onboarded (company {company}).\n"

    assert ztp(
        "onboard", "--customer", "acme", "--vendor", "snom", "--base-url", "https://x.example"
    ).startswith("Snom (SRAPS): Already onboarded")
    assert ztp("rotate", "--customer", "acme", "--vendor", "snom").startswith(
        "Snom (SRAPS): Credentials rotated"
    )
    assert ztp("check", "--customer", "acme", "--vendor", "snom") == (
        "Snom (SRAPS): the stored credentials work and the provisioning URL is ours.\n"
    )
    status = ztp("status", "--customer", "acme").splitlines()
    assert status[0].startswith(f"snom acme: Configured, company {company}, credentials set ")
    assert status[1] == "yealink acme: Not configured"
    assert ztp("disable", "--customer", "acme", "--vendor", "snom").startswith(
        "Snom (SRAPS): Disabled"
    )
    types = list(Event.objects.filter(type__startswith="ZTP_").values_list("type", flat=True))
    assert sorted(types) == ["ZTP_CHECK", "ZTP_DISABLE", "ZTP_ONBOARD", "ZTP_ONBOARD", "ZTP_ROTATE"]


def test_onboard_uses_public_url(ready, sraps, settings):
    settings.PUBLIC_URL = "https://pm.example.com"
    ztp("onboard", "--customer", "acme", "--vendor", "snom")
    (profile,) = sraps.profiles.values()
    url = next(iter(profile["settings_manager"].values()))["value"]
    assert re.fullmatch(r"https://pm\.example\.com/phones/[0-9a-f]{32}/snom/\{mac\}\.xml", url)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["onboard", "--vendor", "snom"], "--customer: required"),
        (["onboard", "--customer", "nobody", "--vendor", "snom"], "no customer with slug 'nobody'"),
        (["onboard", "--customer", "acme"], "--vendor: required for onboard"),
        (
            ["onboard", "--customer", "acme", "--vendor", "snom"],
            "--base-url: required when PUBLIC_URL",
        ),
        (
            ["onboard", "--customer", "acme", "--vendor", "snom", "--base-url", "ftp://x"],
            "--base-url: expected an address",
        ),
        (
            [
                "onboard",
                "--customer",
                "acme",
                "--vendor",
                "snom",
                "--base-url",
                "https://pm.example",
            ],
            "Reseller credentials not configured in this environment",
        ),
        (["rotate", "--customer", "acme", "--vendor", "snom"], "Onboard it before you rotate"),
    ],
)
def test_failures_exit_non_zero_with_one_line(ready, args, message):
    with pytest.raises(CommandError, match=message):
        ztp(*args)


def test_newkey_prints_a_fernet_key():
    key = ztp("newkey").strip()
    assert len(key) == 44


def _environment(tmp_path) -> dict[str, str]:
    # A throwaway SQLite database in tmp_path, whatever database the suite runs on.
    environ = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**environ, "DEBUG": "true", "DATA_DIR": str(tmp_path)}


def _manage(tmp_path, *args) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_command_exits_non_zero_in_a_shell(tmp_path):
    assert _manage(tmp_path, "migrate", "--no-input").returncode == 0
    result = _manage(tmp_path, "ztp", "rotate", "--customer", "nobody", "--vendor", "snom")

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --customer: no customer with slug 'nobody'"


@pytest.mark.slow
def test_run_fake_sraps_serves_a_fake_that_the_adapter_can_use(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_fake_sraps",
            "--port",
            "0",
            "--key-id",
            "demo-key",
            "--secret",
            "demo-secret",
        ],
        cwd=PROJECT_ROOT,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("Fake Snom SRAPS on http://127.0.0.1:")
        api_url = first.split(" on ")[1].strip()
        adapter = SrapsAdapter(
            base_url=api_url, reseller_key_id="demo-key", reseller_secret="demo-secret", timeout=5
        )
        adapter.check_credentials(None)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_status_changes_nothing(ready):
    ztp("status", "--customer", "acme", "--vendor", "snom")
    assert not ZtpAccount.objects.exists()
    assert Status.NOT_CONFIGURED == "not_configured"
