"""Encryption at rest: no secret in a database dump, and retiring a key (add a new one in
front, `manage.py ztp rekey`, remove the old one)."""

import io

import pytest
from django.core.management import call_command

from core import crypto
from core.crypto import EncryptionUnavailable
from devices.models import Device
from phones.files.access import file_secret
from phones.services.lines import phone_line_set
from reports.models import Event
from ztp.models import ZtpAccount
from ztp.services.card import ztp_check, ztp_key_change, ztp_onboard, ztp_rotate
from ztp.services.phones import ztp_phone_register

from .conftest import BASE_URL, key_of

MACS = {"snom": "0004132A3B4C", "gigaset": "7C2F80123456", "yealink": "001565AABBCC"}


@pytest.mark.parametrize(
    ("vendor", "fixture"),
    [("snom", "sraps"), ("gigaset", "grape"), ("yealink", "ymcs")],
    ids=["snom", "gigaset", "yealink"],
)
def test_a_database_dump_holds_no_plaintext_secret(ready, request, vendor, fixture):
    fake = request.getfixturevalue(fixture)
    ztp_onboard(customer=ready, vendor=vendor, user=None, base_url=BASE_URL, **key_of(fake))
    ztp_phone_register(customer=ready, vendor=vendor, user=None, mac=MACS[vendor])
    ztp_rotate(customer=ready, vendor=vendor, user=None)
    account = ZtpAccount.objects.get()
    stored = crypto.unseal(account.secrets)
    # The API key's secret, the phone file URL registered at the vendor and its secret.
    secrets = [key_of(fake)["secret"], stored["secret"], stored["url"], file_secret(ready)]
    dump = io.StringIO()

    call_command("dumpdata", stdout=dump)

    text = dump.getvalue()
    assert '"model": "ztp.ztpaccount"' in text
    assert f'"key_id": "{account.key_id}"' in text  # the key's ID is shown on the card
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked


def test_a_changed_key_is_stored_encrypted_too(ready, sraps):
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    key_id, secret = sraps.add_key(sraps.company)
    ztp_key_change(customer=ready, vendor="snom", user=None, key_id=key_id, secret=secret)
    dump = io.StringIO()

    call_command("dumpdata", "ztp", "reports", stdout=dump)

    assert crypto.unseal(ZtpAccount.objects.get().secrets)["secret"] == secret
    assert secret not in dump.getvalue()
    assert sraps.secret not in dump.getvalue()


def test_encryption_key_rotation(ready, sraps, settings):
    old, new = crypto.new_key(), crypto.new_key()
    settings.ZTP_ENCRYPTION_KEYS = [old]
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    plain = crypto.unseal(ZtpAccount.objects.get().secrets)

    # 1. The new key goes in front: everything still reads, new writes use it.
    settings.ZTP_ENCRYPTION_KEYS = [new, old]
    assert crypto.unseal(ZtpAccount.objects.get().secrets) == plain
    # 2. Re-encrypt everything with it.
    out = io.StringIO()
    call_command("ztp", "rekey", stdout=out)
    assert out.getvalue().strip() == "1 secret(s) re-encrypted with the first key, 0 left."
    call_command("ztp", "rekey", stdout=io.StringIO())  # again: nothing left to do
    assert Event.objects.filter(type="ZTP_REKEY").count() == 2
    # 3. The old key is retired: the credentials still read, and still work at the vendor.
    settings.ZTP_ENCRYPTION_KEYS = [new]
    assert crypto.unseal(ZtpAccount.objects.get().secrets) == plain
    ztp_check(customer=ready, vendor="snom", user=None)


def test_retiring_a_key_before_the_rekey_is_explained(ready, sraps, settings):
    old, new = crypto.new_key(), crypto.new_key()
    settings.ZTP_ENCRYPTION_KEYS = [old]
    ztp_onboard(customer=ready, vendor="snom", user=None, base_url=BASE_URL, **key_of(sraps))
    settings.ZTP_ENCRYPTION_KEYS = [new]

    with pytest.raises(
        EncryptionUnavailable, match=r"a key was removed before `manage\.py ztp rekey`"
    ):
        ztp_check(customer=ready, vendor="snom", user=None)


def test_each_encryption_is_different(settings):
    settings.ZTP_ENCRYPTION_KEYS = [crypto.new_key()]
    assert crypto.seal({"a": 1}) != crypto.seal({"a": 1})  # Fernet's random IV


def test_phone_line_passwords_are_sealed_and_rekeyed_with_the_same_keys(customer, admin, settings):
    old, new = crypto.new_key(), crypto.new_key()
    settings.ZTP_ENCRYPTION_KEYS = [old]
    device = Device.objects.create(customer=customer, device_id="000413ABCDEF")
    line = phone_line_set(
        device=device, user=admin, position=1, extension="201", password="s3cret-Line-pw"
    )
    dump = io.StringIO()
    call_command("dumpdata", "phones", "reports", stdout=dump)
    assert "s3cret-Line-pw" not in dump.getvalue()

    settings.ZTP_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("ztp", "rekey", stdout=out)
    assert out.getvalue().strip() == "1 secret(s) re-encrypted with the first key, 0 left."
    settings.ZTP_ENCRYPTION_KEYS = [new]
    line.refresh_from_db()
    assert crypto.unseal(line.password_sealed) == {"password": "s3cret-Line-pw"}
