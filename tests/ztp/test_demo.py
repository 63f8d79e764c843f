"""The demo customer's ZTP card works on first start (`make run` starts the fake vendors
and loaddemo), and starts over at each start, as the fakes do."""

import io

from django.core.management import call_command

from accounts.models import Customer
from phones.models import AutoProvisioningKey
from ztp.models import Status, ZtpAccount
from ztp.services.card import ztp_onboard


def test_the_demo_customer_can_onboard_at_once(db, sraps):
    call_command("loaddemo", stdout=io.StringIO())
    demo = Customer.objects.get(slug="demo")

    ztp_onboard(customer=demo, vendor="snom", user=None, base_url="http://127.0.0.1:8000")

    assert ZtpAccount.objects.get(customer=demo).status == Status.CONFIGURED
    # The next start: the fakes have forgotten everything, and so has the demo.
    call_command("loaddemo", stdout=io.StringIO())
    assert not ZtpAccount.objects.filter(customer=demo).exists()
    assert not AutoProvisioningKey.objects.filter(
        customer=demo, purpose__startswith="ztp:"
    ).exists()
