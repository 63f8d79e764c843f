"""The SRAPS adapter against the fake SRAPS over real HTTP on loopback (every request Hawk
signed and checked), and against canned answers the fake never gives."""

import socket
import time

import pytest

from tests.devices.test_ptt_client import canned
from ztp.adapters import (
    CredentialsRejected,
    MacTaken,
    VendorAccount,
    VendorRejected,
    VendorUnavailable,
)
from ztp.fake_sraps import FakeSraps
from ztp.sraps import PROFILE_NAME, SrapsAdapter

URL = "https://pm.example.com/device/api/v1/auto?domain=acme&token=T0k&category=Phones&mac={mac}"
MAC = "0004132A3B4C"


@pytest.fixture
def fake():
    with FakeSraps() as server:
        yield server


def adapter_for(fake, **overrides) -> SrapsAdapter:
    arguments = {
        "base_url": fake.api_url,
        "reseller_key_id": fake.reseller_key_id,
        "reseller_secret": fake.reseller_secret,
        "timeout": 2,
        **overrides,
    }
    return SrapsAdapter(**arguments)


@pytest.fixture
def adapter(fake):
    return adapter_for(fake)


@pytest.fixture
def account(adapter) -> VendorAccount:
    return adapter.onboard(reference="pm:acme", name="Acme", url=URL)


def test_onboard_makes_a_company_a_key_and_a_profile_with_our_url(fake, account):
    (company,) = fake.companies.values()
    assert (company["name"], company["external_id"]) == ("Acme", "pm:acme")
    assert account.company_id == company["uuid"]
    assert fake.keys_of(account.company_id) == [account.key_id]
    (profile,) = fake.profiles.values()
    assert profile["name"] == PROFILE_NAME
    setting = fake.setting_uuid("setting_server")
    assert profile["settings_manager"] == {setting: {"value": URL, "attrs": {"perm": "RW"}}}
    assert account.extra == {"setting": setting, "profile": profile["uuid"]}


def test_the_settings_are_read_in_the_largest_pages(fake, account):
    pages = [path for method, path in fake.requests if path.startswith("/api/v1/settings/")]
    assert pages == ["/api/v1/settings/?page_size=1000"]


def test_lists_are_followed_through_their_link_headers(fake, adapter):
    fake.max_page_size = 2  # five settings, two a page; setting_server is the fourth
    adapter.onboard(reference="pm:acme", name="Acme", url=URL)
    pages = [path for method, path in fake.requests if path.startswith("/api/v1/settings/")]
    assert pages == [
        "/api/v1/settings/?page_size=1000",
        "/api/v1/settings/?page=2&page_size=1000",
        "/api/v1/settings/?page=3&page_size=1000",
    ]


def test_onboarding_again_finds_the_company_instead_of_making_another(fake, adapter, account):
    again = adapter.onboard(reference="pm:acme", name="Acme", url=URL)

    assert again.company_id == account.company_id
    assert len(fake.companies) == 1
    assert len(fake.profiles) == 1  # updated, not duplicated


def test_the_customer_key_is_checked_and_names_its_company(adapter, account):
    adapter.check_credentials(account)
    adapter.check_credentials(None)  # the reseller's
    with pytest.raises(VendorRejected, match="another company"):
        adapter.check_credentials(
            VendorAccount("not-this-one", account.key_id, account.secret, account.extra)
        )


def test_register_look_up_and_unregister_a_phone(fake, adapter, account):
    adapter.register(account, mac=MAC, url=URL)
    endpoint = fake.endpoints[MAC.lower()]
    assert endpoint["provisioning_profile"] == account.extra["profile"]
    assert endpoint["settings_manager"][account.extra["setting"]]["value"] == URL
    assert endpoint["autoprovisioning_enabled"] is True

    found = adapter.lookup(account, mac=MAC)
    assert (found.mac, found.url, found.company_id) == (MAC, URL, account.company_id)

    adapter.unregister(account, mac=MAC)
    adapter.unregister(account, mac=MAC)  # already gone: fine
    assert fake.endpoints == {}
    assert adapter.lookup(account, mac=MAC) is None


def test_a_mac_of_another_account_is_refused_in_plain_words(fake, adapter, account):
    fake.add_foreign_endpoint(MAC)

    with pytest.raises(MacTaken, match="00:04:13:2A:3B:4C is registered to another Snom SRAPS"):
        adapter.register(account, mac=MAC, url=URL)


def test_rotate_replaces_the_key_and_revokes_the_old_one(fake, adapter, account):
    fresh = adapter.rotate(account)

    assert fresh.company_id == account.company_id
    assert fresh.extra == account.extra
    assert fake.keys_of(account.company_id) == [fresh.key_id]
    adapter.check_credentials(fresh)
    with pytest.raises(CredentialsRejected):
        adapter.check_credentials(account)


@pytest.mark.parametrize(
    ("method", "fragment"),
    [("POST", "/access-keys/"), ("GET", "/tokens/"), ("DELETE", "/access-keys/")],
    ids=["new-key", "check-new-key", "revoke-old-key"],
)
def test_a_rotation_that_fails_midway_leaves_the_old_key_working(
    fake, adapter, account, method, fragment
):
    # A GET is retried once, so the check must fail twice to fail.
    for _ in range(2 if method == "GET" else 1):
        fake.fail(method, fragment, 503)

    with pytest.raises(VendorUnavailable, match="answered 503"):
        adapter.rotate(account)

    assert fake.keys_of(account.company_id) == [account.key_id]
    adapter.check_credentials(account)


def test_disable_revokes_the_key(fake, adapter, account):
    adapter.disable(account)
    adapter.disable(account)  # already revoked: fine

    assert not fake.key_works(account.key_id)
    assert fake.keys_of(account.company_id) == []


def test_wrong_reseller_credentials_are_rejected(fake):
    adapter = adapter_for(fake, reseller_secret="not-the-secret")

    with pytest.raises(CredentialsRejected, match=r"answered 401.*Hawk authentication failed"):
        adapter.onboard(reference="pm:acme", name="Acme", url=URL)
    assert fake.companies == {}


def test_down_is_unavailable_and_reads_are_tried_twice(fake, adapter, account):
    fake.down = True

    with pytest.raises(VendorUnavailable, match="answered 503"):
        adapter.lookup(account, mac=MAC)
    lookups = [r for r in fake.requests if r[0] == "GET" and "/endpoints/" in r[1]]
    assert len(lookups) == 2


def test_a_read_that_fails_once_succeeds_on_its_retry(fake, adapter, account):
    fake.fail("GET", "/endpoints/", 502)

    assert adapter.lookup(account, mac=MAC) is None


def test_writes_are_not_retried(fake, adapter, account):
    fake.fail("PUT", "/endpoints/", 500)

    with pytest.raises(VendorUnavailable, match="answered 500"):
        adapter.register(account, mac=MAC, url=URL)
    puts = [r for r in fake.requests if r[0] == "PUT" and "/endpoints/" in r[1]]
    assert len(puts) == 1


def test_a_slow_server_times_out(fake, account):
    fake.delay = 1.5
    adapter = adapter_for(fake, timeout=0.3)
    started = time.monotonic()

    with pytest.raises(VendorUnavailable, match=r"within 0\.3 s"):
        adapter.lookup(account, mac=MAC)
    assert time.monotonic() - started < 2.5  # two attempts of 0.3 s, not two of 1.5 s


def test_a_malformed_answer_is_unavailable(fake, adapter, account):
    fake.malformed = True

    with pytest.raises(VendorUnavailable, match=r"malformed answer.*not JSON"):
        adapter.check_credentials(account)


def test_nothing_listening_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = SrapsAdapter(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        reseller_key_id="k",
        reseller_secret="s",
        timeout=1,
    )
    with pytest.raises(VendorUnavailable, match="cannot be reached"):
        adapter.check_credentials(None)


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b'{"links": {}}', {}, "no company link"),
        (b"[1, 2]", {}, "expected an object"),
        (b"<html>It works!</html>", {}, "not JSON"),
    ],
)
def test_malformed_token_answers(body, headers, problem):
    with canned(200, body, headers) as url:
        adapter = SrapsAdapter(base_url=url, reseller_key_id="k", reseller_secret="s", timeout=1)
        with pytest.raises(VendorUnavailable, match=problem):
            adapter.check_credentials(None)


def test_a_next_page_on_another_host_is_not_followed():
    link = '<https://elsewhere.example/api/v1/settings/?page=2>; rel="next"'
    with canned(200, b"[]", {"Link": link}) as url:
        adapter = SrapsAdapter(base_url=url, reseller_key_id="k", reseller_secret="s", timeout=1)
        client = adapter._client("k", "s")
        with pytest.raises(VendorUnavailable, match="next page is on another host"):
            adapter._paged(client, "settings/")


def test_missing_reseller_credentials_are_named(fake):
    adapter = adapter_for(fake, reseller_key_id="", reseller_secret="")

    with pytest.raises(VendorRejected, match="ZTP_SNOM_RESELLER_KEY_ID"):
        adapter.onboard(reference="pm:acme", name="Acme", url=URL)
    assert fake.requests == []


def test_repr_does_not_show_the_secret(fake, adapter, account):
    assert fake.reseller_secret not in repr(adapter)
    assert account.secret not in repr(account)


@pytest.mark.parametrize("offset", [600, -3600])
def test_a_clock_adrift_is_resynchronised_from_the_signed_server_time(fake, adapter, offset):
    """Hawk's stale-timestamp 401 carries SRAPS's time signed with our key (tsm): the
    request is signed again with it and sent once more, not reported as bad credentials."""
    fake.clock_offset = offset
    account = adapter.onboard(reference="pm:acme", name="Acme", url=URL)
    assert fake.keys_of(account.company_id) == [account.key_id]
    adapter.register(account, mac=MAC, url=URL)
    assert adapter.lookup(account, mac=MAC).url == URL


def test_a_stale_answer_whose_tsm_does_not_verify_is_not_trusted(
    fake, adapter, account, monkeypatch
):
    """Someone on the path cannot move our clock: a stale answer whose server time is not
    signed with our key leaves the request refused, and it is not sent again."""
    from ztp import hawk

    signed = hawk.stale_header
    monkeypatch.setattr(hawk, "stale_header", lambda key, now=None: signed("not ours", now))
    fake.clock_offset = 600
    with pytest.raises(CredentialsRejected):
        adapter.lookup(account, mac=MAC)
