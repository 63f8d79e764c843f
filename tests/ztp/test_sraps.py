"""The SRAPS and GRAPE adapters against their fakes over real HTTP on loopback (every
request Hawk signed and checked), and against canned answers the fakes never give."""

import socket
import time

import pytest

from tests.devices.test_ptt_client import canned
from ztp.adapters import (
    AccountRefused,
    CredentialsRejected,
    InvalidMac,
    MacTaken,
    VendorAccount,
    VendorRejected,
    VendorUnavailable,
)
from ztp.fake_sraps import FakeGrape, FakeSraps
from ztp.sraps import GrapeAdapter, SrapsAdapter

URL = "https://pm.example.com/phones/s3cret/snom/{mac}.xml"
MAC = "0004132A3B4C"
VENDORS = {"sraps": (FakeSraps, SrapsAdapter), "grape": (FakeGrape, GrapeAdapter)}


@pytest.fixture(params=sorted(VENDORS))
def kind(request):
    return request.param


@pytest.fixture
def fake(kind):
    with VENDORS[kind][0]() as server:
        yield server


def adapter_for(kind, fake, **overrides):
    return VENDORS[kind][1](**{"base_url": fake.api_url, "timeout": 2, **overrides})


@pytest.fixture
def adapter(kind, fake):
    return adapter_for(kind, fake)


@pytest.fixture
def account(fake, adapter) -> VendorAccount:
    return adapter.connect(key_id=fake.key_id, secret=fake.secret)


def test_connect_learns_the_company_its_endpoints_and_the_provisioning_setting(fake, account):
    assert account.company_id == fake.company
    assert account.key_id == fake.key_id
    assert account.extra == {
        "company": f"{fake.api_url}/companies/{fake.company}/",
        "endpoints": f"{fake.api_url}/companies/{fake.company}/endpoints/",
        "setting": fake.setting_uuid(),
    }
    assert [(m, p) for m, p, _b in fake.calls] == [
        ("GET", f"/api/v1/tokens/{fake.key_id}"),
        ("GET", f"/api/v1/companies/{fake.company}/"),
        ("GET", "/api/v1/settings/"),
    ]


def test_sraps_takes_the_setting_server_of_phone_settings_not_the_other_one():
    with FakeSraps() as fake:
        account = SrapsAdapter(base_url=fake.api_url, timeout=2).connect(
            key_id=fake.key_id, secret=fake.secret
        )
        network = next(
            s["uuid"]
            for s in fake._settings
            if s["param_name"] == "setting_server" and s["section"] == "network"
        )
        assert account.extra["setting"] == fake.setting_uuid() != network


def test_grape_takes_its_provisioning_server_setting():
    with FakeGrape() as fake:
        account = GrapeAdapter(base_url=fake.api_url, timeout=2).connect(
            key_id=fake.key_id, secret=fake.secret
        )
        assert account.extra["setting"] == fake.setting_uuid("ProvisioningServer")


def test_the_settings_are_read_in_the_largest_pages(fake, account):
    pages = [path for method, path in fake.requests if path.startswith("/api/v1/settings/")]
    assert pages == ["/api/v1/settings/?page_size=1000"]


def test_lists_are_followed_through_their_link_headers(fake, adapter):
    fake.max_page_size = 2  # the provisioning setting is the last of the catalogue
    adapter.connect(key_id=fake.key_id, secret=fake.secret)
    pages = [path for method, path in fake.requests if path.startswith("/api/v1/settings/")]
    assert len(pages) == (len(fake.settings_catalogue) + 1) // 2
    assert pages[1] == "/api/v1/settings/?page=2&page_size=1000"


def test_a_wrong_secret_is_rejected_and_nothing_else_is_asked(fake, adapter):
    with pytest.raises(CredentialsRejected, match=r"answered 401.*Hawk authentication failed"):
        adapter.connect(key_id=fake.key_id, secret="not-the-secret")
    assert fake.calls == []


def test_a_deleted_key_is_rejected(fake, adapter, account):
    fake.delete_key(fake.key_id)
    with pytest.raises(CredentialsRejected):
        adapter.check_credentials(account)


def test_the_key_is_checked_for_its_company(fake, adapter, account):
    adapter.check_credentials(account)
    with pytest.raises(VendorRejected, match="belongs to company"):
        adapter.check_credentials(
            VendorAccount("not-this-one", account.key_id, account.secret, account.extra)
        )


def test_register_puts_the_url_on_the_endpoint_as_the_working_clients_do(fake, adapter, account):
    adapter.register(account, mac=MAC, url=URL)

    method, path, body = fake.calls[-1]
    assert (method, path) == ("PUT", f"/api/v1/companies/{fake.company}/endpoints/{MAC.lower()}")
    assert body == {
        "mac": MAC.lower(),
        "autoprovisioning_enabled": True,
        "settings_manager": {fake.setting_uuid(): {"value": URL, "attrs": {"perm": "RW"}}},
    }
    assert fake.url_of(MAC) == URL


def test_phones_and_lookup_read_the_companys_list(fake, adapter, account):
    adapter.register(account, mac=MAC, url=URL)
    adapter.register(account, mac="0004132A3B4D", url=URL)
    adapter.register(account, mac="0004132A3B4E", url=URL)  # three: two pages of two

    assert adapter.phones(account) == {MAC, "0004132A3B4D", "0004132A3B4E"}
    found = adapter.lookup(account, mac=MAC)
    # The list carries no settings: registered in the company, the URL not said.
    assert (found.mac, found.url, found.company_id) == (MAC, "", fake.company)
    assert adapter.lookup(account, mac="0004132A0000") is None


def test_unregister_deletes_a_listed_phone_and_reads_before_deciding_it_is_gone(
    fake, adapter, account
):
    adapter.register(account, mac=MAC, url=URL)
    adapter.unregister(account, mac=MAC)
    assert fake.endpoints == {}

    fake.calls.clear()
    adapter.unregister(account, mac=MAC)  # gone: the list says so, nothing is deleted
    assert [m for m, _p, _b in fake.calls] == ["GET"]


def test_a_404_from_a_wrong_route_is_not_taken_for_gone(fake, adapter, account):
    """The old adapter read any 404 on a delete as "already gone"; now only the company's
    list decides, and a route that does not exist is an error."""
    broken = VendorAccount(
        account.company_id,
        account.key_id,
        account.secret,
        {**account.extra, "endpoints": f"{fake.api_url}/no/such/route/"},
    )
    with pytest.raises(VendorRejected, match="404"):
        adapter.unregister(broken, mac=MAC)


def test_a_404_to_delete_of_a_listed_phone_is_not_taken_for_gone(fake, adapter, account):
    adapter.register(account, mac=MAC, url=URL)
    fake.fail("DELETE", "/endpoints/", 404)  # the list route works; the delete says 404

    with pytest.raises(VendorRejected, match="404 to DELETE of 00:04:13:2A:3B:4C, which it"):
        adapter.unregister(account, mac=MAC)
    assert MAC.lower() in fake.endpoints


def test_a_key_without_a_role_reads_but_is_told_to_get_one_when_it_writes(fake, adapter):
    """A key with no Role reads its company (Onboard works) but may not register phones:
    that is a setup step at the vendor, not a dead key."""
    key_id, secret = fake.add_key(fake.company, role=False)
    account = adapter.connect(key_id=key_id, secret=secret)

    with pytest.raises(AccountRefused, match="may lack a Role that may manage endpoints"):
        adapter.register(account, mac=MAC, url=URL)


def test_a_mac_of_another_account_is_refused_in_plain_words(fake, adapter, account):
    fake.add_foreign_endpoint(MAC)

    with pytest.raises(MacTaken, match="00:04:13:2A:3B:4C is registered to another"):
        adapter.register(account, mac=MAC, url=URL)


def test_a_refused_mac_is_invalid(fake, adapter, account):
    with pytest.raises(InvalidMac):
        adapter.register(account, mac="0004132A3B4", url=URL)


def test_an_account_stored_before_the_links_were_kept_learns_them_again(fake, adapter, account):
    old = VendorAccount(account.company_id, account.key_id, account.secret, {"profile": "p"})
    adapter.register(old, mac=MAC, url=URL)
    assert fake.url_of(MAC) == URL


def test_nothing_is_held_for_the_company_and_release_makes_no_call(fake, adapter, account):
    fake.calls.clear()
    assert adapter.register_url(account, name="pm1-acme", url=URL) == account
    adapter.release(account)
    assert fake.calls == []
    assert adapter.holds_url is False


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


def test_a_slow_server_times_out(kind, fake, account):
    fake.delay = 1.5
    adapter = adapter_for(kind, fake, timeout=0.3)
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
    adapter = SrapsAdapter(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=1)
    with pytest.raises(VendorUnavailable, match="cannot be reached"):
        adapter.connect(key_id="k", secret="s")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"links": {}}', "no company link"),
        (b"[1, 2]", "expected an object"),
        (b"<html>It works!</html>", "not JSON"),
    ],
)
def test_malformed_token_answers(body, problem):
    with canned(200, body, {}) as url:
        adapter = SrapsAdapter(base_url=url, timeout=1)
        with pytest.raises(VendorUnavailable, match=problem):
            adapter.connect(key_id="k", secret="s")


def test_a_company_on_another_host_is_not_followed_and_names_the_setting():
    """A signed request goes to the configured host only; a link elsewhere (the other of
    SRAPS's two hosts, say) is a setting to mend, not an outage to wait out."""
    body = b'{"links": {"company": "https://elsewhere.example/api/v1/companies/c/"}}'
    with canned(200, body, {}) as url:
        adapter = SrapsAdapter(base_url=url, timeout=1)
        with pytest.raises(VendorRejected, match=r"another host.*set ZTP_SNOM_API_URL"):
            adapter.connect(key_id="k", secret="s")


def test_a_next_page_on_another_host_is_not_followed():
    link = '<https://elsewhere.example/api/v1/settings/?page=2>; rel="next"'
    with canned(200, b"[]", {"Link": link}) as url:
        adapter = SrapsAdapter(base_url=url, timeout=1)
        client = adapter._client("k", "s")
        with pytest.raises(VendorRejected, match="another host"):
            adapter._paged(client, "settings/")


def test_repr_does_not_show_the_secret(fake, adapter, account):
    assert fake.secret not in repr(adapter)
    assert account.secret not in repr(account)


@pytest.mark.parametrize("offset", [600, -3600])
def test_a_clock_adrift_is_resynchronised_from_the_signed_server_time(fake, adapter, offset):
    """Hawk's stale-timestamp 401 carries the vendor's time signed with our key (tsm): the
    request is signed again with it and sent once more, not reported as bad credentials."""
    fake.clock_offset = offset
    account = adapter.connect(key_id=fake.key_id, secret=fake.secret)
    adapter.register(account, mac=MAC, url=URL)
    assert fake.url_of(MAC) == URL


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
