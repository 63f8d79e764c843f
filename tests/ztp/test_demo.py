"""The demo customer's ZTP card works on first start (`make run` starts the fake vendors
and loaddemo), and starts over at each start, as the fakes do. The demo needs no vendor
settings but the fakes' addresses: the API key is entered on the card."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Customer
from ztp.models import Status, ZtpAccount, ZtpPhone
from ztp.services.card import ztp_onboard

from .conftest import key_of

# The reseller credentials of the old model; nothing reads them now.
REMOVED = [
    "ZTP_SNOM_RESELLER_KEY_ID",
    "ZTP_SNOM_RESELLER_SECRET",
    "ZTP_YEALINK_CLIENT_ID",
    "ZTP_YEALINK_CLIENT_SECRET",
]


@pytest.fixture
def no_reseller_env(monkeypatch):
    for name in REMOVED:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_the_demo_loads_with_no_ztp_wiring(db, no_reseller_env, settings):
    assert set(settings.ZTP_VENDORS) == {"snom", "gigaset", "yealink"}

    call_command("loaddemo", stdout=io.StringIO())

    demo = Customer.objects.get(slug="demo")
    assert not ZtpAccount.objects.filter(customer=demo).exists()
    assert not ZtpPhone.objects.filter(customer=demo).exists()


def test_the_demo_customer_can_onboard_at_once(db, no_reseller_env, sraps, grape):
    call_command("loaddemo", stdout=io.StringIO())
    demo = Customer.objects.get(slug="demo")

    for vendor, fake in (("snom", sraps), ("gigaset", grape)):
        ztp_onboard(
            customer=demo,
            vendor=vendor,
            user=None,
            base_url="http://127.0.0.1:8000",
            **key_of(fake),
        )

    assert set(ZtpAccount.objects.filter(customer=demo).values_list("vendor", "status")) == {
        ("snom", Status.CONFIGURED),
        ("gigaset", Status.CONFIGURED),
    }
    # The next start: the fakes have forgotten everything, and so has the demo.
    call_command("loaddemo", stdout=io.StringIO())
    assert not ZtpAccount.objects.filter(customer=demo).exists()
