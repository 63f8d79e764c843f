"""Fixtures of the ZTP tests: the fake SRAPS, GRAPE and YMCS on loopback, wired into the
settings, and a customer ready to onboard (a provisioning category, automatic
provisioning on)."""

from collections.abc import Iterator

import pytest

from phones.services.auto import auto_provisioning_enable
from phones.services.categories import customer_phone_defaults_create
from ztp.fake_sraps import FakeGrape, FakeSraps
from ztp.fake_ymcs import FakeYmcs

BASE_URL = "http://testserver"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # httpx honours proxy variables even for 127.0.0.1; these requests must stay local.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(autouse=True)
def _ztp_settings(settings):
    """No vendor answers unless a test starts a fake; short timeouts."""
    settings.ZTP_VENDORS = {
        "snom": {"url": "http://127.0.0.1:9/api/v1"},
        "gigaset": {"url": "http://127.0.0.1:9/api/v1"},
        "yealink": {"url": "http://127.0.0.1:9"},
    }
    settings.ZTP_TIMEOUT = 2
    settings.PUBLIC_URL = ""


@pytest.fixture
def sraps(settings) -> Iterator[FakeSraps]:
    with FakeSraps() as fake:
        settings.ZTP_VENDORS = {**settings.ZTP_VENDORS, "snom": {"url": fake.api_url}}
        yield fake


@pytest.fixture
def grape(settings) -> Iterator[FakeGrape]:
    with FakeGrape() as fake:
        settings.ZTP_VENDORS = {**settings.ZTP_VENDORS, "gigaset": {"url": fake.api_url}}
        yield fake


@pytest.fixture
def ymcs(settings) -> Iterator[FakeYmcs]:
    with FakeYmcs() as fake:
        settings.ZTP_VENDORS = {**settings.ZTP_VENDORS, "yealink": {"url": fake.url}}
        yield fake


def key_of(fake) -> dict[str, str]:
    """The fake's API key as the card takes it."""
    if isinstance(fake, FakeYmcs):
        return {"key_id": fake.client_id, "secret": fake.client_secret}
    return {"key_id": fake.key_id, "secret": fake.secret}


@pytest.fixture
def ready(customer):
    """The customer with its default provisioning category and automatic provisioning on."""
    customer_phone_defaults_create(customer=customer)
    auto_provisioning_enable(customer=customer, user=None, token="Acme-Auto-Token-2026-zT7")
    return customer
