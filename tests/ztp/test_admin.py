"""Support's read-only view of the ZTP wiring in Django admin: never the secrets."""

from django.urls import reverse

from core import crypto
from phones.files.access import file_secret
from ztp.models import ZtpAccount
from ztp.services.card import ztp_onboard

from .conftest import BASE_URL, key_of


def test_staff_see_the_wiring_but_never_the_credentials(client, staff, ready, sraps):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    account = ZtpAccount.objects.get()
    stored = crypto.unseal(account.secrets)
    assert stored["secret"] == sraps.secret  # the customer's own key, kept encrypted
    client.force_login(staff)

    listing = client.get(reverse("admin:ztp_ztpaccount_changelist"))
    page = client.get(reverse("admin:ztp_ztpaccount_change", args=[account.pk]))

    assert listing.status_code == page.status_code == 200
    assert account.company_id in page.content.decode()
    # The key's secret, the sealed blob and the phone file URL's secret (in the URL
    # registered at the vendor) are never shown.
    for secret in (account.secrets, stored["secret"], stored["url"], file_secret(ready)):
        assert secret not in page.content.decode()
        assert secret not in listing.content.decode()
    assert client.get(reverse("admin:ztp_ztpaccount_add")).status_code == 403
    assert client.get(reverse("admin:ztp_ztpphone_changelist")).status_code == 200
