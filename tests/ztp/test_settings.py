"""The ZTP settings as an operator meets them: `manage.py` in a fresh process (the approach
and helpers of tests/test_settings.py). Settings hold only each vendor's API address (the
API keys are the customers' own, entered on the ZTP card); a bad value stops start-up
naming the variable and never quoting a secret."""

import pytest

from tests.test_settings import (
    PRODUCTION,
    SETTINGS_SOURCE,
    SETTINGS_VARIABLES,
    configuration_error,
    manage,
    print_settings,
)

KEY = "y2Fz0CcSsgoKQt1-j2-cR9ipWAwQH8jQx4hoFsoZSuo="
OTHER_KEY = "3oHqz1lrw9a4WWs1zKnl2Fmbs9kZ4yZ2F5m5Jrx5Z2M="

DEFAULT_VENDORS = {
    "snom": {"url": "https://secure-provisioning.snom.com/api/v1"},
    "gigaset": {"url": "https://api.grape.gigaset.net/api/v1"},
    "yealink": {"url": "https://eu-api.ymcs.yealink.com", "legacy_tls": False},
}
# The reseller credentials of the previous model: no longer read, whatever they hold.
REMOVED = {
    "ZTP_SNOM_RESELLER_KEY_ID": "rk_1",
    "ZTP_SNOM_RESELLER_SECRET": "a b",
    "ZTP_SNOM_RESELLER_SECRET_FILE": "/nonexistent/secret",
    "ZTP_YEALINK_CLIENT_ID": "client",
    "ZTP_YEALINK_CLIENT_SECRET": "sh",
    "ZTP_YEALINK_CLIENT_SECRET_FILE": "/nonexistent/secret",
}

pytestmark = pytest.mark.slow


def test_defaults(tmp_path):
    values = print_settings(
        tmp_path, "ZTP_VENDORS", "ZTP_TIMEOUT", "ZTP_ENCRYPTION_KEYS", DEBUG="true"
    )
    assert values["ZTP_VENDORS"] == DEFAULT_VENDORS
    assert values["ZTP_TIMEOUT"] == 10
    # Development makes one key and keeps it, as it does SECRET_KEY.
    (key,) = values["ZTP_ENCRYPTION_KEYS"]
    assert (tmp_path / "ztp_encryption_key").read_text().strip() == key
    again = print_settings(tmp_path, "ZTP_ENCRYPTION_KEYS", DEBUG="true")
    assert again["ZTP_ENCRYPTION_KEYS"] == [key]


def test_production_makes_no_key(tmp_path):
    values = print_settings(tmp_path, "ZTP_ENCRYPTION_KEYS", **PRODUCTION)
    assert values["ZTP_ENCRYPTION_KEYS"] == []


def test_vendor_addresses_and_keys_from_variables_and_files(tmp_path):
    (tmp_path / "keys").write_text(f"{KEY}\n{OTHER_KEY}\n")
    values = print_settings(
        tmp_path,
        "ZTP_VENDORS",
        "ZTP_ENCRYPTION_KEYS",
        "ZTP_TIMEOUT",
        DEBUG="true",
        ZTP_SNOM_API_URL="http://127.0.0.1:8083/api/v1/",
        ZTP_GIGASET_API_URL=" http://127.0.0.1:8085/api/v1/ ",
        ZTP_YEALINK_API_URL="https://us-api.ymcs.yealink.com",
        ZTP_YEALINK_LEGACY_TLS="true",
        ZTP_ENCRYPTION_KEYS_FILE=str(tmp_path / "keys"),
        ZTP_TIMEOUT="5",
    )
    assert values["ZTP_VENDORS"] == {
        "snom": {"url": "http://127.0.0.1:8083/api/v1"},
        "gigaset": {"url": "http://127.0.0.1:8085/api/v1"},
        "yealink": {"url": "https://us-api.ymcs.yealink.com", "legacy_tls": True},
    }
    assert values["ZTP_ENCRYPTION_KEYS"] == [KEY, OTHER_KEY]
    assert values["ZTP_TIMEOUT"] == 5


@pytest.mark.parametrize(("raw", "read"), [("false", False), ("0", False), ("1", True)])
def test_yealink_legacy_tls_is_a_boolean(tmp_path, raw, read):
    values = print_settings(tmp_path, "ZTP_VENDORS", DEBUG="true", ZTP_YEALINK_LEGACY_TLS=raw)
    assert values["ZTP_VENDORS"]["yealink"]["legacy_tls"] is read


def test_the_removed_reseller_variables_change_nothing(tmp_path):
    values = print_settings(tmp_path, "ZTP_VENDORS", DEBUG="true", **REMOVED)

    assert values["ZTP_VENDORS"] == DEFAULT_VENDORS
    assert manage(tmp_path, "check", DEBUG="true", **REMOVED).returncode == 0
    assert not set(REMOVED) & SETTINGS_VARIABLES
    for name in REMOVED:
        assert name not in SETTINGS_SOURCE


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ZTP_ENCRYPTION_KEYS": "not-a-key"}, "ZTP_ENCRYPTION_KEYS: key 1 is not a Fernet key"),
        (
            {"ZTP_ENCRYPTION_KEYS": f"{KEY},{KEY}"},
            "ZTP_ENCRYPTION_KEYS: a key is listed twice",
        ),
        (
            {"ZTP_ENCRYPTION_KEYS": KEY, "ZTP_ENCRYPTION_KEYS_FILE": "keys"},
            "ZTP_ENCRYPTION_KEYS: set it or ZTP_ENCRYPTION_KEYS_FILE, not both",
        ),
        (
            {"ZTP_ENCRYPTION_KEYS_FILE": "/nonexistent/keys"},
            "ZTP_ENCRYPTION_KEYS_FILE: cannot read '/nonexistent/keys'",
        ),
        ({"ZTP_SNOM_API_URL": "ftp://sraps"}, "ZTP_SNOM_API_URL: must be http:// or https://"),
        (
            {"ZTP_GIGASET_API_URL": "ftp://grape"},
            "ZTP_GIGASET_API_URL: must be http:// or https://",
        ),
        ({"ZTP_GIGASET_API_URL": ""}, "ZTP_GIGASET_API_URL: must be http:// or https://"),
        ({"ZTP_YEALINK_API_URL": "https://"}, "ZTP_YEALINK_API_URL: must be http:// or https://"),
        (
            {"ZTP_YEALINK_LEGACY_TLS": "maybe"},
            "ZTP_YEALINK_LEGACY_TLS: expected true or false, got 'maybe'",
        ),
        ({"ZTP_TIMEOUT": "0"}, "ZTP_TIMEOUT: must be at least 1, got 0"),
        ({"ZTP_TIMEOUT": "soon"}, "ZTP_TIMEOUT: expected a whole number, got 'soon'"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, message):
    result = manage(tmp_path, "check", DEBUG="true", **env)

    assert result.returncode != 0
    error = configuration_error(result.stderr)
    assert error.startswith(message), error


def test_keys_are_never_quoted(tmp_path):
    result = manage(tmp_path, "check", DEBUG="true", ZTP_ENCRYPTION_KEYS=f"{KEY},top-secret-value")
    error = configuration_error(result.stderr)
    assert error.startswith("ZTP_ENCRYPTION_KEYS: key 2 is not a Fernet key")
    assert "top-secret" not in error and KEY not in error


def test_the_scrub_covers_the_ztp_variables():
    assert {
        "ZTP_ENCRYPTION_KEYS",
        "ZTP_ENCRYPTION_KEYS_FILE",
        "ZTP_SNOM_API_URL",
        "ZTP_GIGASET_API_URL",
        "ZTP_YEALINK_API_URL",
        "ZTP_YEALINK_LEGACY_TLS",
        "ZTP_TIMEOUT",
    } <= SETTINGS_VARIABLES
