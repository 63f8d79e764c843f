"""The ZTP settings as an operator meets them: `manage.py` in a fresh process (the approach
and helpers of tests/test_settings.py). A bad value stops start-up naming the variable and
never quoting a secret."""

import pytest

from tests.test_settings import PRODUCTION, configuration_error, manage, print_settings

KEY = "y2Fz0CcSsgoKQt1-j2-cR9ipWAwQH8jQx4hoFsoZSuo="
OTHER_KEY = "3oHqz1lrw9a4WWs1zKnl2Fmbs9kZ4yZ2F5m5Jrx5Z2M="

pytestmark = pytest.mark.slow


def test_defaults(tmp_path):
    values = print_settings(
        tmp_path, "ZTP_VENDORS", "ZTP_TIMEOUT", "ZTP_ENCRYPTION_KEYS", DEBUG="true"
    )
    assert values["ZTP_VENDORS"] == {
        "snom": {"url": "https://api.sraps.snom.com/api/v1", "key_id": "", "secret": ""},
        "yealink": {"url": "https://eu-api.ymcs.yealink.com", "key_id": "", "secret": ""},
    }
    assert values["ZTP_TIMEOUT"] == 10
    # Development makes one key and keeps it, as it does SECRET_KEY.
    (key,) = values["ZTP_ENCRYPTION_KEYS"]
    assert (tmp_path / "ztp_encryption_key").read_text().strip() == key
    again = print_settings(tmp_path, "ZTP_ENCRYPTION_KEYS", DEBUG="true")
    assert again["ZTP_ENCRYPTION_KEYS"] == [key]


def test_production_makes_no_key(tmp_path):
    values = print_settings(tmp_path, "ZTP_ENCRYPTION_KEYS", **PRODUCTION)
    assert values["ZTP_ENCRYPTION_KEYS"] == []


def test_vendor_credentials_and_keys_from_variables_and_files(tmp_path):
    (tmp_path / "sraps-secret").write_text("s3cret-from-file\n")
    (tmp_path / "keys").write_text(f"{KEY}\n{OTHER_KEY}\n")
    values = print_settings(
        tmp_path,
        "ZTP_VENDORS",
        "ZTP_ENCRYPTION_KEYS",
        "ZTP_TIMEOUT",
        DEBUG="true",
        ZTP_SNOM_API_URL="http://127.0.0.1:8083/api/v1/",
        ZTP_SNOM_RESELLER_KEY_ID="rk_1",
        ZTP_SNOM_RESELLER_SECRET_FILE=str(tmp_path / "sraps-secret"),
        ZTP_YEALINK_API_URL="https://us-api.ymcs.yealink.com",
        ZTP_YEALINK_CLIENT_ID="client",
        ZTP_YEALINK_CLIENT_SECRET="yealink-secret",
        ZTP_ENCRYPTION_KEYS_FILE=str(tmp_path / "keys"),
        ZTP_TIMEOUT="5",
    )
    assert values["ZTP_VENDORS"]["snom"] == {
        "url": "http://127.0.0.1:8083/api/v1",
        "key_id": "rk_1",
        "secret": "s3cret-from-file",
    }
    assert values["ZTP_VENDORS"]["yealink"]["secret"] == "yealink-secret"
    assert values["ZTP_ENCRYPTION_KEYS"] == [KEY, OTHER_KEY]
    assert values["ZTP_TIMEOUT"] == 5


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
        (
            {"ZTP_SNOM_RESELLER_KEY_ID": "rk_1"},
            "ZTP_SNOM_RESELLER_SECRET: required when ZTP_SNOM_RESELLER_KEY_ID is set",
        ),
        (
            {"ZTP_YEALINK_CLIENT_SECRET": "sh"},
            "ZTP_YEALINK_CLIENT_ID: required when ZTP_YEALINK_CLIENT_SECRET is set",
        ),
        (
            {"ZTP_SNOM_RESELLER_SECRET": "a b", "ZTP_SNOM_RESELLER_KEY_ID": "rk"},
            "ZTP_SNOM_RESELLER_SECRET: must be printable ASCII without spaces",
        ),
        (
            {"ZTP_SNOM_RESELLER_SECRET": "x", "ZTP_SNOM_RESELLER_SECRET_FILE": "f"},
            "ZTP_SNOM_RESELLER_SECRET: set it or ZTP_SNOM_RESELLER_SECRET_FILE, not both",
        ),
        (
            {"ZTP_SNOM_RESELLER_SECRET_FILE": "/nonexistent/secret"},
            "ZTP_SNOM_RESELLER_SECRET_FILE: cannot read '/nonexistent/secret'",
        ),
        ({"ZTP_SNOM_API_URL": "ftp://sraps"}, "ZTP_SNOM_API_URL: must be http:// or https://"),
        ({"ZTP_YEALINK_API_URL": "https://"}, "ZTP_YEALINK_API_URL: must be http:// or https://"),
        ({"ZTP_TIMEOUT": "0"}, "ZTP_TIMEOUT: must be at least 1, got 0"),
        ({"ZTP_TIMEOUT": "soon"}, "ZTP_TIMEOUT: expected a whole number, got 'soon'"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, message):
    result = manage(tmp_path, "check", DEBUG="true", **env)

    assert result.returncode != 0
    error = configuration_error(result.stderr)
    assert error.startswith(message), error


def test_an_empty_secret_file_is_refused(tmp_path):
    (tmp_path / "empty").write_text("\n")
    result = manage(
        tmp_path,
        "check",
        DEBUG="true",
        ZTP_SNOM_RESELLER_KEY_ID="rk",
        ZTP_SNOM_RESELLER_SECRET_FILE=str(tmp_path / "empty"),
    )
    assert configuration_error(result.stderr).startswith("ZTP_SNOM_RESELLER_SECRET_FILE:")
    assert "is empty" in configuration_error(result.stderr)


def test_secrets_are_never_quoted(tmp_path):
    result = manage(tmp_path, "check", DEBUG="true", ZTP_SNOM_RESELLER_SECRET="top secret value")
    error = configuration_error(result.stderr)
    assert "top secret" not in error


def test_the_scrub_covers_the_ztp_variables():
    from tests.test_settings import SETTINGS_VARIABLES

    assert {
        "ZTP_ENCRYPTION_KEYS",
        "ZTP_ENCRYPTION_KEYS_FILE",
        "ZTP_SNOM_API_URL",
        "ZTP_SNOM_RESELLER_KEY_ID",
        "ZTP_SNOM_RESELLER_SECRET",
        "ZTP_SNOM_RESELLER_SECRET_FILE",
        "ZTP_YEALINK_API_URL",
        "ZTP_YEALINK_CLIENT_ID",
        "ZTP_YEALINK_CLIENT_SECRET",
        "ZTP_YEALINK_CLIENT_SECRET_FILE",
        "ZTP_TIMEOUT",
    } <= SETTINGS_VARIABLES
