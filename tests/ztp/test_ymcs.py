"""The Yealink YMCS adapter against the fake YMCS over real HTTP on loopback: the same
interface as SRAPS, another vendor's authentication (OAuth 2.0 client credentials), paging
(skip/limit) and error shape ({"code", "message"})."""

import httpx
import pytest

from ztp.adapters import (
    CredentialsRejected,
    MacTaken,
    VendorAccount,
    VendorRejected,
    VendorUnavailable,
)
from ztp.fake_ymcs import FakeYmcs
from ztp.ymcs import YmcsAdapter

URL = "https://pm.example.com/device/api/v1/auto?domain=acme&token=T0k&category=Phones&mac={mac}"
MAC = "001565AABBCC"


@pytest.fixture
def fake():
    with FakeYmcs() as server:
        yield server


def adapter_for(fake, **overrides) -> YmcsAdapter:
    arguments = {
        "base_url": fake.url,
        "reseller_client_id": fake.reseller_client_id,
        "reseller_secret": fake.reseller_secret,
        "timeout": 2,
        **overrides,
    }
    return YmcsAdapter(**arguments)


@pytest.fixture
def adapter(fake):
    return adapter_for(fake)


@pytest.fixture
def account(adapter) -> VendorAccount:
    return adapter.onboard(reference="provisioning-manager:acme", name="Acme", url=URL)


def test_onboard_makes_a_site_its_credentials_and_an_rps_server(fake, account):
    (site,) = fake.companies.values()
    assert (site["name"], site["externalId"]) == ("Acme", "provisioning-manager:acme")
    assert account.company_id == site["id"]
    assert fake.keys_of(site["id"]) == [account.key_id]
    (server,) = fake.servers.values()
    assert (server["name"], server["url"]) == ("acme", URL)
    assert account.extra == {"server": server["id"]}


def test_onboarding_again_reuses_the_site_and_the_server(fake, adapter, account):
    again = adapter.onboard(reference="provisioning-manager:acme", name="Acme", url=URL + "&x=1")

    assert again.company_id == account.company_id
    assert len(fake.companies) == 1
    (server,) = fake.servers.values()
    assert server["url"] == URL + "&x=1"


def test_each_phone_gets_its_own_url_with_its_mac(fake, adapter, account):
    adapter.register(account, mac=MAC, url=URL)
    adapter.register(account, mac=MAC, url=URL)  # again: updated, not refused

    device = fake.devices[MAC.lower()]
    assert device["uniqueServerUrl"] == URL.replace("{mac}", MAC)
    assert device["serverId"] == account.extra["server"]
    assert adapter.lookup(account, mac=MAC).url == URL.replace("{mac}", MAC)

    adapter.unregister(account, mac=MAC)
    adapter.unregister(account, mac=MAC)  # already gone: fine
    assert fake.devices == {}
    assert adapter.lookup(account, mac=MAC) is None


def test_a_device_of_another_organization_is_refused(fake, adapter, account):
    fake.add_foreign_device(MAC)

    with pytest.raises(MacTaken, match="another Yealink YMCS organization"):
        adapter.register(account, mac=MAC, url=URL)


def test_rotate_replaces_the_credentials(fake, adapter, account):
    fresh = adapter.rotate(account)

    assert fake.keys_of(account.company_id) == [fresh.key_id]
    adapter.check_credentials(fresh)
    with pytest.raises(CredentialsRejected):
        adapter_for(fake).check_credentials(account)


def test_a_rotation_that_fails_midway_leaves_the_old_credentials(fake, adapter, account):
    fake.fail("DELETE", "/apiKeys/", 500)

    with pytest.raises(VendorUnavailable, match="answered 500"):
        adapter.rotate(account)

    assert fake.keys_of(account.company_id) == [account.key_id]
    adapter_for(fake).check_credentials(account)


def test_disable_revokes_the_credentials(fake, adapter, account):
    adapter.disable(account)

    assert fake.keys_of(account.company_id) == []


def test_wrong_reseller_credentials_are_rejected(fake):
    with pytest.raises(CredentialsRejected, match="answered 401 to POST /v2/token: invalid_client"):
        adapter_for(fake, reseller_secret="wrong").check_credentials(None)


def test_missing_reseller_credentials_are_named(fake):
    with pytest.raises(VendorRejected, match="ZTP_YEALINK_CLIENT_ID"):
        adapter_for(fake, reseller_client_id="").onboard(reference="r", name="n", url=URL)
    assert fake.requests == []


def test_down_and_malformed_are_unavailable(fake, adapter, account):
    fake.malformed = True
    with pytest.raises(VendorUnavailable, match="malformed answer"):
        adapter.lookup(account, mac=MAC)
    fake.malformed = False
    fake.down = True
    with pytest.raises(VendorUnavailable, match="answered 503"):
        adapter_for(fake).lookup(account, mac=MAC)


def test_a_slow_server_times_out(fake, account):
    fake.delay = 1.5
    with pytest.raises(VendorUnavailable, match=r"within 0\.3 s"):
        adapter_for(fake, timeout=0.3).check_credentials(account)


def test_the_fake_refuses_calls_without_timestamp_and_nonce(fake, account):
    # So every call of the onboarding above carried them.
    answer = httpx.post(f"{fake.url}/v2/token", json={"grant_type": "client_credentials"})

    assert answer.status_code == 400
    assert answer.json()["code"] == "900400"


def test_a_failed_revocation_that_happened_anyway_keeps_the_new_credentials(
    fake, adapter, account, monkeypatch
):
    # The vendor revokes the old credentials but the answer is lost on its way back.
    revoke = YmcsAdapter.revoke_key

    def revoke_then_fail(self, old):
        revoke(self, old)
        raise VendorUnavailable("Yealink YMCS did not answer DELETE within 2 s")

    adapter.check_credentials(account)  # the old credentials' token is now held
    monkeypatch.setattr(YmcsAdapter, "revoke_key", revoke_then_fail)

    fresh = adapter.rotate(account)

    assert fake.keys_of(account.company_id) == [fresh.key_id]
