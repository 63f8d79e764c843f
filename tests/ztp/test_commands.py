"""`manage.py ztp`: the card's actions without the browser (same service calls, lease and
Events), one line of outcome, non-zero exit on failure; onboard and key take --key-id and
read the key's secret from the first line of standard input. And the fakes' commands."""

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
from ztp.services.phones import ztp_phone_register
from ztp.sraps import GrapeAdapter, SrapsAdapter

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def ztp(*args, secret: str | None = None) -> str:
    """`manage.py ztp *args`, with `secret` on the first line of standard input."""
    out = io.StringIO()
    stdin = io.StringIO("" if secret is None else secret + "\n")
    call_command("ztp", *args, stdout=out, stdin=stdin)
    return out.getvalue()


def snom(action: str, *args, **kwargs) -> str:
    return ztp(action, "--customer", "acme", "--vendor", "snom", *args, **kwargs)


def test_onboard_rotate_key_check_status_disable(ready, sraps):
    base = ("--base-url", "https://pm.example.com")
    line = snom("onboard", "--key-id", sraps.key_id, *base, secret=sraps.secret)
    assert line == f"Snom (SRAPS): Onboarded (company {sraps.company}).\n"
    account = ZtpAccount.objects.get()
    assert (account.key_id, account.company_id) == (sraps.key_id, sraps.company)

    assert snom("onboard", "--key-id", sraps.key_id, *base, secret=sraps.secret).startswith(
        "Snom (SRAPS): Already onboarded"
    )
    assert snom("rotate").startswith("Snom (SRAPS): a new phone file URL is registered")
    old_key = sraps.key_id
    new_key, new_secret = sraps.add_key(sraps.company)
    assert snom("key", "--key-id", new_key, secret=new_secret).startswith(
        f"Snom (SRAPS): API key changed. Delete the previous key ({old_key})"
    )
    assert snom("check") == (
        "Snom (SRAPS): the stored API key works and the provisioning URL is ours.\n"
    )
    status = ztp("status", "--customer", "acme").splitlines()
    assert status[0].startswith(
        f"snom acme: Configured, company {sraps.company}, API key {new_key}, credentials set "
    )
    assert status[1:] == ["gigaset acme: Not configured", "yealink acme: Not configured"]
    assert sraps.secret not in "".join(status) and new_secret not in "".join(status)
    assert snom("disable").startswith("Snom (SRAPS): Disabled; the API key is forgotten.")
    types = list(Event.objects.filter(type__startswith="ZTP_").values_list("type", flat=True))
    assert sorted(types) == [
        "ZTP_CHECK",
        "ZTP_DISABLE",
        "ZTP_KEY",
        "ZTP_ONBOARD",
        "ZTP_ONBOARD",
        "ZTP_ROTATE",
    ]


def test_onboard_uses_public_url(ready, sraps, settings):
    settings.PUBLIC_URL = "https://pm.example.com"
    snom("onboard", "--key-id", sraps.key_id, secret=sraps.secret)
    ztp_phone_register(customer=ready, vendor="snom", user=None, mac="0004132A3B4C")
    url = sraps.url_of("0004132A3B4C")
    assert re.fullmatch(r"https://pm\.example\.com/phones/[0-9a-f]{32}/snom/\{mac\}\.xml", url)


def test_the_secret_is_read_from_the_first_line_only(ready, sraps):
    snom(
        "onboard",
        "--key-id",
        sraps.key_id,
        "--base-url",
        "https://pm.example",
        secret=(f"  {sraps.secret}  \nsomething else"),
    )
    assert ZtpAccount.objects.get().status == Status.CONFIGURED


def test_a_key_the_vendor_refuses_fails_and_is_not_kept(ready, sraps):
    with pytest.raises(CommandError, match="does not accept this API key: check its ID"):
        snom("onboard", "--key-id", sraps.key_id, "--base-url", "https://x.example", secret="no")
    account = ZtpAccount.objects.get()
    assert (account.status, account.key_id, account.secrets) == (Status.ERROR, "", "")


ONBOARD = ["onboard", "--customer", "acme", "--vendor", "snom"]
KEYED = [*ONBOARD, "--key-id", "key_1"]


@pytest.mark.parametrize(
    ("args", "secret", "message"),
    [
        (["onboard", "--vendor", "snom"], None, "--customer: required"),
        (
            ["onboard", "--customer", "nobody", "--vendor", "snom"],
            None,
            "no customer with slug 'nobody'",
        ),
        (["onboard", "--customer", "acme"], None, "--vendor: required for onboard"),
        (ONBOARD, "s3cret", "--key-id: required"),
        ([*ONBOARD, "--key-id", ""], "s3cret", "--key-id: required"),
        (KEYED, None, "secret: expected on the first line of standard input"),
        (KEYED, "   ", "secret: expected on the first line of standard input"),
        (
            [*ONBOARD, "--key-id", "a b", "--base-url", "https://pm.example"],
            "s3cret",
            "--key-id: printable ASCII",
        ),
        (KEYED, "s3cret", "--base-url: required when PUBLIC_URL"),
        ([*KEYED, "--base-url", "ftp://x"], "s3cret", "--base-url: expected an address"),
        # Nothing answers here (no fake): the vendor cannot be reached.
        ([*KEYED, "--base-url", "https://pm.example"], "s3cret", "Try again later"),
        (["key", "--customer", "acme", "--vendor", "snom"], "s3cret", "--key-id: required"),
        (
            ["key", "--customer", "acme", "--vendor", "snom", "--key-id", "key_1"],
            None,
            "secret: expected on the first line",
        ),
        (
            ["key", "--customer", "acme", "--vendor", "snom", "--key-id", "key_1"],
            "s3cret",
            "Onboard it before you change its API key",
        ),
        (
            ["rotate", "--customer", "acme", "--vendor", "snom"],
            None,
            "Onboard it before you rotate",
        ),
        (["check", "--customer", "acme", "--vendor", "snom"], None, "Onboard it before you check"),
        (
            ["repair", "--customer", "acme", "--vendor", "snom"],
            None,
            "Onboard it before you repair",
        ),
    ],
)
def test_failures_exit_non_zero_with_one_line(ready, args, secret, message):
    with pytest.raises(CommandError, match=re.escape(message)) as raised:
        ztp(*args, secret=secret)
    assert "s3cret" not in str(raised.value)


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
@pytest.mark.parametrize(
    ("flags", "adapter", "first", "variable"),
    [
        ([], SrapsAdapter, "Fake SRAPS on http://127.0.0.1:", "ZTP_SNOM_API_URL"),
        (["--grape"], GrapeAdapter, "Fake GRAPE on http://127.0.0.1:", "ZTP_GIGASET_API_URL"),
    ],
    ids=["sraps", "grape"],
)
def test_run_fake_sraps_prints_the_key_to_enter_and_serves_it(
    tmp_path, flags, adapter, first, variable
):
    process = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "run_fake_sraps", "--port", "0", *flags],
        cwd=PROJECT_ROOT,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        assert lines[0].startswith(first), lines
        api_url = lines[0].split(" on ")[1].strip()
        assert lines[1].strip() == f"export {variable}={api_url}"
        key_id = re.fullmatch(r"\s*API key to enter on the ZTP card: ID (\S+)\n", lines[2])[1]
        secret = re.fullmatch(r"\s*secret (\S+)\n", lines[3])[1]
        account = adapter(base_url=api_url, timeout=5).connect(key_id=key_id, secret=secret)
        assert account.company_id and account.key_id == key_id
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_run_fake_sraps_takes_the_key_it_is_given(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
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
        api_url = first.split(" on ")[1].strip()
        adapter = SrapsAdapter(base_url=api_url, timeout=5)
        account = adapter.connect(key_id="demo-key", secret="demo-secret")
        adapter.check_credentials(account)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_status_changes_nothing(ready):
    ztp("status", "--customer", "acme", "--vendor", "snom")
    assert not ZtpAccount.objects.exists()
    assert Status.NOT_CONFIGURED == "not_configured"
