"""The Yealink YMCS adapter against the fake YMCS over real HTTP on loopback: the
enterprise's own API key, one RPS server per customer, devices added by MAC with their
failures read from errorInfo, skip/limit lists whose data may be null, and TLS."""

import base64
import datetime
import ipaddress
import json
import secrets
import shutil
import ssl
import subprocess
import time

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from ztp.adapters import (
    CredentialsRejected,
    InvalidMac,
    MacTaken,
    VendorAccount,
    VendorRejected,
    VendorUnavailable,
    adapter_for,
)
from ztp.fake_ymcs import FakeYmcs
from ztp.models import Vendor
from ztp.ymcs import DEFAULT_URL, OP_LEGACY_SERVER_CONNECT, YmcsAdapter, _reason

URL = "https://pm.example.com/phones/acme-T0k3n/"
MAC = "001565AABBCC"
NAME = "pm-acme"


@pytest.fixture
def fake():
    with FakeYmcs() as server:
        yield server


def adapter_of(fake: FakeYmcs, **options) -> YmcsAdapter:
    return YmcsAdapter(base_url=fake.url, **{"timeout": 5, **options})


@pytest.fixture
def adapter(fake):
    return adapter_of(fake)


@pytest.fixture
def account(fake, adapter) -> VendorAccount:
    return adapter.connect(key_id=fake.client_id, secret=fake.client_secret)


@pytest.fixture
def registered(adapter, account) -> VendorAccount:
    return adapter.register_url(account, name=NAME, url=URL)


def sent(fake: FakeYmcs, fragment: str, method: str = "POST") -> list:
    """The bodies of the requests whose path contains `fragment`."""
    return [body for m, path, body in fake.calls if m == method and fragment in path]


def raw(fake: FakeYmcs, method: str, path: str, body=None, *, auth: str = "") -> httpx.Response:
    """One call as any client would send it, with a fresh token unless `auth` is given."""
    if not auth:
        pair = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
        token = raw(fake, "POST", "/v2/token", {"grant_type": "client_credentials"}, auth=pair)
        auth = token.json()["access_token"]
        scheme = "Bearer"
    else:
        scheme = "Basic"
    headers = {
        "Authorization": f"{scheme} {auth}",
        "timestamp": str(int(time.time() * 1000)),
        "nonce": secrets.token_hex(16),
    }
    content = None if body is None else json.dumps(body).encode()
    return httpx.request(method, fake.url + path, content=content, headers=headers)


# --- the key ------------------------------------------------------------------------


def test_connect_proves_the_key_with_a_token(fake, account):
    assert account == VendorAccount(
        company_id="", key_id=fake.client_id, secret=fake.client_secret, extra={}
    )
    ((method, path, body),) = fake.calls
    assert (method, path, body) == ("POST", "/v2/token", {"grant_type": "client_credentials"})


def test_a_wrong_key_is_refused(fake, adapter):
    with pytest.raises(CredentialsRejected) as caught:
        adapter.connect(key_id=fake.client_id, secret="not-the-secret")

    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)


def test_connect_needs_both_halves_of_the_key(fake, adapter):
    with pytest.raises(CredentialsRejected, match="client ID and the client secret"):
        adapter.connect(key_id=fake.client_id, secret="")
    assert fake.calls == []


def test_check_credentials_asks_for_a_fresh_token_each_time(fake, adapter, account):
    adapter.check_credentials(account)
    adapter.check_credentials(account)

    assert len(sent(fake, "/v2/token")) == 3
    fake.client_secret = "rotated-in-the-portal"
    with pytest.raises(CredentialsRejected):
        adapter.check_credentials(account)


def test_key_help_names_the_portal_page():
    assert "YMCS → Enterprise Settings → API Service" in YmcsAdapter.key_help
    assert YmcsAdapter.holds_url is True


def test_no_secret_in_repr_or_messages(fake, adapter, account):
    fake.down = True
    with pytest.raises(VendorUnavailable) as caught:
        adapter.check_credentials(account)

    for text in (repr(adapter), repr(account), str(caught.value)):
        assert fake.client_secret not in text
        assert base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode() not in (
            text
        )


# --- the customer's RPS server ------------------------------------------------------


def test_register_url_makes_the_customers_server(fake, registered):
    (server,) = fake.servers.values()
    assert (server["serverName"], server["url"]) == (NAME, URL)
    assert registered.extra == {"server": server["id"]}
    assert sent(fake, "/v2/rps/servers") == [{"serverName": NAME, "url": URL}]


def test_register_url_again_updates_it_with_both_fields(fake, adapter, registered):
    again = adapter.register_url(registered, name=NAME, url=URL + "v2/")

    assert again.extra == registered.extra
    (server,) = fake.servers.values()
    assert server["url"] == URL + "v2/"
    assert sent(fake, "/v2/rps/servers/", "PATCH") == [{"serverName": NAME, "url": URL + "v2/"}]
    assert adapter.registered_url(again) == URL + "v2/"


def test_register_url_finds_the_server_by_name_when_no_id_is_kept(fake, adapter, account):
    first = adapter.register_url(account, name=NAME, url=URL)

    again = adapter.register_url(account, name=NAME, url=URL + "v2/")  # extra lost

    assert again.extra == first.extra
    assert len(sent(fake, "/v2/rps/servers")) == 1  # one POST, then a PATCH
    assert len(fake.servers) == 1


def test_register_url_follows_the_kept_id_through_a_rename(fake, adapter, registered):
    renamed = adapter.register_url(registered, name="pm-acme-2", url=URL)

    assert renamed.extra == registered.extra
    ((server_id, server),) = fake.servers.items()
    assert (server_id, server["serverName"]) == (registered.extra["server"], "pm-acme-2")


def test_a_name_over_20_characters_is_refused_not_cut(fake, adapter, account):
    calls = len(fake.calls)

    with pytest.raises(VendorRejected, match="1 to 20 characters"):
        adapter.register_url(account, name="pm-" + "x" * 18, url=URL)

    assert len(fake.calls) == calls
    assert fake.servers == {}


def test_registered_url_is_none_once_the_server_is_gone(fake, adapter, account, registered):
    assert adapter.registered_url(registered) == URL
    with fake._lock:
        fake._servers.clear()

    assert adapter.registered_url(registered) is None
    assert adapter.registered_url(account) is None  # never registered


def test_release_deletes_the_server_and_then_has_nothing_to_do(fake, adapter, registered):
    adapter.release(registered)

    assert fake.servers == {}
    assert sent(fake, "/delServers") == [{"serverIds": [registered.extra["server"]]}]
    adapter.release(registered)  # gone: listed first, nothing deleted
    assert len(sent(fake, "/delServers")) == 1


# --- devices ------------------------------------------------------------------------


def test_register_adds_the_device_to_the_customers_server(fake, adapter, registered):
    adapter.register(registered, mac=MAC, url=URL)

    assert sent(fake, "/addDevicesByMac") == [
        [{"mac": MAC.lower(), "serverId": registered.extra["server"]}]  # a bare array
    ]
    device = fake.devices[MAC.lower()]
    assert (device["serverId"], device["uniqueServerUrl"]) == (registered.extra["server"], "")
    assert adapter.lookup(registered, mac=MAC).url == URL  # the server's URL
    assert adapter.phones(registered) == {MAC}


def test_register_needs_the_server_first(fake, adapter, account):
    with pytest.raises(VendorRejected, match="register the URL first"):
        adapter.register(account, mac=MAC, url=URL)
    assert sent(fake, "/addDevicesByMac") == []


def test_a_device_of_another_customers_server_is_taken_not_moved(
    fake, adapter, account, registered
):
    """One enterprise's key may serve several of our customers, each with its server: a
    phone on another's server is refused, without naming it, and left where it is."""
    other = adapter.register_url(account, name="pm-other", url=URL + "other/")
    adapter.register(other, mac=MAC, url=URL)

    with pytest.raises(MacTaken, match="another Yealink YMCS server of the enterprise"):
        adapter.register(registered, mac=MAC, url=URL)  # errorInfo 800003

    assert fake.devices[MAC.lower()]["serverId"] == other.extra["server"]
    assert sent(fake, "/v2/rps/devices/", "PATCH") == []
    # The other customer's phone is not ours to see, remove or count.
    assert adapter.lookup(registered, mac=MAC) is None
    assert adapter.phones(registered) == set()
    adapter.unregister(registered, mac=MAC)
    assert MAC.lower() in fake.devices
    assert adapter.phones(other) == {MAC}


def test_a_device_of_the_enterprise_on_no_server_is_moved_to_ours(
    fake, adapter, account, registered
):
    other = adapter.register_url(account, name="pm-gone", url=URL + "gone/")
    adapter.register(other, mac=MAC, url=URL)
    with fake._lock:  # its server deleted in YMCS: the device stays, on no server
        fake._servers.pop(other.extra["server"])
        for device in fake._devices.values():
            device["serverId"] = None

    adapter.register(registered, mac=MAC, url=URL)  # errorInfo 800003: moved by PATCH

    assert sent(fake, "/v2/rps/devices/", "PATCH") == [{"serverId": registered.extra["server"]}]


def test_a_device_of_another_enterprise_is_taken(fake, adapter, registered):
    fake.add_foreign_device(MAC)

    with pytest.raises(MacTaken, match="another Yealink YMCS enterprise"):
        adapter.register(registered, mac=MAC, url=URL)


def test_a_mac_ymcs_does_not_accept_is_invalid(adapter, registered):
    with pytest.raises(InvalidMac, match="800001"):
        adapter.register(registered, mac="00156XYZBBCC", url=URL)


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        ("800003", "exists"),
        ("Resource already exists", "exists"),
        ("800004", "taken"),
        ("Device already managed by another organization", "taken"),
        ("800001", "invalid"),
        ("error.device.mac.invalid", "invalid"),
        ("800007", ""),
        ("Invalid parameters", ""),
    ],
)
def test_error_info_is_read_as_falconieri_reads_it(info, reason):
    assert _reason(info) == reason


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        ({"errorInfo": "Device already managed by another organization"}, MacTaken, "another"),
        ({"errorInfo": "device.mac.invalid"}, InvalidMac, "device.mac.invalid"),
        ({"errorInfo": "800008"}, VendorRejected, "did not register 00:15:65:AA:BB:CC: 800008"),
        ({"errorInfo": ""}, VendorRejected, "gave no reason"),
    ],
)
def test_each_failed_item_is_sorted_by_its_error_info(
    fake, adapter, registered, monkeypatch, answer, error, text
):
    item = {"mac": MAC.lower(), "sn": "", **answer}
    bulk = {"total": 1, "successCount": 0, "failureCount": 1, "errors": [item]}
    monkeypatch.setattr(fake, "_add_devices", lambda data: (200, bulk))

    with pytest.raises(error, match=text):
        adapter.register(registered, mac=MAC, url=URL)


def test_a_failure_count_without_errors_is_refused(fake, adapter, registered, monkeypatch):
    bulk = {"total": 1, "successCount": 0, "failureCount": 1, "errors": []}
    monkeypatch.setattr(fake, "_add_devices", lambda data: (200, bulk))

    with pytest.raises(VendorRejected, match="gave no reason"):
        adapter.register(registered, mac=MAC, url=URL)


def test_adding_by_mac_not_enabled_says_to_ask_yealink_support(fake, adapter, registered):
    fake.by_mac_enabled = False

    with pytest.raises(VendorRejected) as caught:
        adapter.register(registered, mac=MAC, url=URL)

    assert not isinstance(caught.value, CredentialsRejected)  # the key is fine
    assert caught.value.status == 403
    assert "ask Yealink support to enable adding devices by MAC" in str(caught.value)


def test_another_403_to_adding_is_the_key(fake, adapter, registered, monkeypatch):
    refusal = {"code": "500403", "message": "the nonce has been used before"}
    monkeypatch.setattr(fake, "_add_devices", lambda data: (403, refusal))

    with pytest.raises(CredentialsRejected, match=r"answered 403 .*: the nonce has been used"):
        adapter.register(registered, mac=MAC, url=URL)


def test_unregister_removes_a_listed_device(fake, adapter, registered):
    adapter.register(registered, mac=MAC, url=URL)

    adapter.unregister(registered, mac=MAC)

    assert fake.devices == {}
    assert sent(fake, "/delDevices") == [{"deviceIdType": "mac", "deviceIds": [MAC.lower()]}]
    assert adapter.lookup(registered, mac=MAC) is None


def test_unregister_of_a_mac_not_listed_sends_no_delete(fake, adapter, registered):
    fake.add_foreign_device(MAC)  # another enterprise's: not in our list

    adapter.unregister(registered, mac=MAC)

    assert sent(fake, "/listDevices")[-1]["filter"] == {"mac": MAC.lower()}
    assert sent(fake, "/delDevices") == []


def test_a_delete_that_fails_is_refused(fake, adapter, registered, monkeypatch):
    adapter.register(registered, mac=MAC, url=URL)
    route = fake._route

    def refuse_delete(method, rest, data):
        if rest == ["delDevices"]:
            error = {"field": MAC.lower(), "msg": "device is locked"}
            return 200, {"total": 1, "successCount": 0, "failureCount": 1, "errors": [error]}
        return route(method, rest, data)

    monkeypatch.setattr(fake, "_route", refuse_delete)

    with pytest.raises(
        VendorRejected, match=r"did not remove 00:15:65:AA:BB:CC: .*device is locked"
    ):
        adapter.unregister(registered, mac=MAC)


def test_lookup_picks_the_exact_mac_from_a_fuzzy_filter(fake, adapter, registered, monkeypatch):
    adapter.register(registered, mac=MAC, url=URL)
    route = fake._route

    def fuzzy(method, rest, data):  # as if YMCS matched the filter loosely
        if rest == ["listDevices"]:
            data = {**data, "filter": {}}
        return route(method, rest, data)

    monkeypatch.setattr(fake, "_route", fuzzy)
    adapter.register(registered, mac="001565AABBCD", url=URL)

    assert adapter.lookup(registered, mac="001565AABBCD").mac == "001565AABBCD"
    assert adapter.lookup(registered, mac="001565000000") is None


# --- lists --------------------------------------------------------------------------


def test_phones_pages_through_every_device(fake, adapter, registered):
    macs = {f"0015650{n:05X}" for n in range(250)}
    for start in (0, 100, 200):
        batch = sorted(macs)[start : start + 100]
        devices = [{"mac": m.lower(), "serverId": registered.extra["server"]} for m in batch]
        assert raw(fake, "POST", "/v2/rps/addDevicesByMac", devices).status_code == 200
    with fake._lock:
        fake._devices["garbage"] = {"id": "g", "mac": "not a mac", "enterprise": "ours"}

    assert adapter.phones(registered) == macs

    skips = [body["skip"] for body in sent(fake, "/listDevices")]
    assert skips == [0, 100, 200]


def test_data_null_reads_as_an_empty_list(fake, adapter, registered):
    fake.null_data = True

    assert adapter.phones(registered) == set()
    assert adapter.lookup(registered, mac=MAC) is None
    adapter.unregister(registered, mac=MAC)
    assert sent(fake, "/delDevices") == []
    assert adapter.registered_url(registered) == URL  # a page with items has its data


def test_a_list_without_a_number_for_total_is_malformed(fake, adapter, registered, monkeypatch):
    page = fake._page
    monkeypatch.setattr(
        fake, "_page", lambda items, data: (200, {**page(items, data)[1], "total": "1"})
    )

    with pytest.raises(VendorUnavailable, match="total is not a number"):
        adapter.phones(registered)


def test_a_list_that_never_ends_stops(fake, adapter, registered, monkeypatch):
    device = {"id": "d", "mac": "001565000001", "serverId": ""}
    monkeypatch.setattr(
        fake, "_page", lambda items, data: (200, {"total": 10**9, "data": [device] * 100})
    )
    monkeypatch.setattr("ztp.ymcs.MAX_PAGES", 3)

    with pytest.raises(VendorUnavailable, match="more than 3 pages"):
        adapter.phones(registered)
    assert len(sent(fake, "/listDevices")) == 3


# --- failures -----------------------------------------------------------------------


def test_down_malformed_and_rate_limited_are_unavailable(fake, adapter, registered):
    fake.malformed = True
    with pytest.raises(VendorUnavailable, match="malformed answer"):
        adapter.lookup(registered, mac=MAC)
    fake.malformed = False
    fake.fail("POST", "/listDevices", 429)
    assert adapter.lookup(registered, mac=MAC) is None  # a read is tried once more
    fake.fail("POST", "/addDevicesByMac", 429)
    with pytest.raises(VendorUnavailable, match="answered 429"):
        adapter.register(registered, mac=MAC, url=URL)
    fake.down = True
    with pytest.raises(VendorUnavailable, match="answered 503"):
        adapter_of(fake).check_credentials(registered)


def test_a_slow_server_times_out(fake, account):
    fake.delay = 1.0
    with pytest.raises(VendorUnavailable, match=r"within 0\.3 s"):
        adapter_of(fake, timeout=0.3).check_credentials(account)


# --- the fake keeps to YMCS's rules -------------------------------------------------


def test_the_fake_wants_timestamp_and_nonce_and_refuses_a_reused_nonce(fake):
    pair = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    body = json.dumps({"grant_type": "client_credentials"})
    headers = {"Authorization": f"Basic {pair}"}
    assert httpx.post(f"{fake.url}/v2/token", content=body, headers=headers).status_code == 400

    headers.update(timestamp=str(int(time.time() * 1000)), nonce="0123456789abcdef")
    assert httpx.post(f"{fake.url}/v2/token", content=body, headers=headers).status_code == 200
    again = httpx.post(f"{fake.url}/v2/token", content=body, headers=headers)
    assert (again.status_code, again.json()["code"]) == (403, "500403")


def test_the_fake_refuses_a_post_without_a_body(fake):
    answer = raw(fake, "POST", "/v2/rps/listServers")
    assert (answer.status_code, answer.json()["code"]) == (412, "900444")


def test_the_fake_refuses_devices_wrapped_in_an_object(fake):
    answer = raw(fake, "POST", "/v2/rps/addDevicesByMac", {"devices": [{"mac": MAC.lower()}]})
    assert answer.status_code == 412
    too_many = [{"mac": f"0015650{n:05x}"} for n in range(101)]
    answer = raw(fake, "POST", "/v2/rps/addDevicesByMac", too_many)
    assert (answer.status_code, answer.json()["code"]) == (400, "800006")


def test_the_fake_wants_both_fields_to_update_a_server(fake, registered):
    path = f"/v2/rps/servers/{registered.extra['server']}"
    for body in ({"url": URL}, {"serverName": NAME}):
        answer = raw(fake, "PATCH", path, body)
        assert (answer.status_code, answer.json()["code"]) == (400, "900400")
    assert raw(fake, "PATCH", path, {"serverName": NAME, "url": URL}).status_code == 204


def test_the_fake_answers_an_unknown_id_400_not_404(fake):
    for path, body in (
        ("/v2/rps/servers/nope", {"serverName": NAME, "url": URL}),
        ("/v2/rps/devices/nope", {"serverId": "nope"}),
    ):
        answer = raw(fake, "PATCH", path, body)
        assert (answer.status_code, answer.json()["code"]) == (400, "900400")


def test_the_fake_keeps_server_names_short_and_unique(fake, registered):
    long = raw(fake, "POST", "/v2/rps/servers", {"serverName": "x" * 21, "url": URL})
    assert (long.status_code, long.json()["code"]) == (400, "900400")
    twice = raw(fake, "POST", "/v2/rps/servers", {"serverName": NAME, "url": URL})
    assert (twice.status_code, twice.json()["code"]) == (400, "800003")


# --- settings and TLS ---------------------------------------------------------------


def test_from_settings_reads_the_url_and_the_tls_option(settings, fake):
    settings.ZTP_VENDORS = {"yealink": {"url": fake.url}}
    plain = adapter_for(Vendor.YEALINK)
    assert isinstance(plain, YmcsAdapter)
    assert (plain.base_url, plain.legacy_tls, plain.verify) == (fake.url, False, True)

    settings.ZTP_VENDORS = {"yealink": {"url": fake.url, "legacy_tls": "true"}}
    legacy = YmcsAdapter.from_settings()
    assert legacy.legacy_tls
    assert legacy.verify.options & OP_LEGACY_SERVER_CONNECT

    settings.ZTP_VENDORS = {"yealink": {"legacy_tls": "maybe"}}
    with pytest.raises(ImproperlyConfigured, match="legacy_tls"):
        YmcsAdapter.from_settings()
    settings.ZTP_VENDORS = {}
    assert YmcsAdapter.from_settings().base_url == DEFAULT_URL


def _self_signed(tmp_path) -> tuple[str, str]:
    """A certificate and key for 127.0.0.1: made with `cryptography`, else `openssl`."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("neither the cryptography package nor openssl is installed")
        options = (
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
            "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
        )
        command = [openssl, *options.split(), "-keyout", str(key), "-out", str(cert)]
        subprocess.run(command, check=True, capture_output=True)
        return str(cert), str(key)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert), str(key)


@pytest.fixture
def tls_fake(tmp_path):
    cert, key = _self_signed(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with FakeYmcs(ssl_context=server_context) as server:
        yield server, cert


def test_tls_connects_with_a_context_trusting_the_certificate(tls_fake):
    fake, cert = tls_fake
    assert fake.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=cert)

    adapter = YmcsAdapter(base_url=fake.url, timeout=5, verify=context)
    account = adapter.connect(key_id=fake.client_id, secret=fake.client_secret)
    account = adapter.register_url(account, name=NAME, url=URL)

    assert adapter.verify is context
    assert not context.options & OP_LEGACY_SERVER_CONNECT
    assert adapter.registered_url(account) == URL


def test_the_legacy_option_is_set_only_when_asked_for(tls_fake):
    fake, cert = tls_fake
    context = ssl.create_default_context(cafile=cert)

    adapter = YmcsAdapter(base_url=fake.url, timeout=5, verify=context, legacy_tls=True)
    adapter.connect(key_id=fake.client_id, secret=fake.client_secret)

    assert context.options & OP_LEGACY_SERVER_CONNECT
    assert YmcsAdapter(base_url=fake.url, timeout=5).verify is True


def test_tls_refuses_a_certificate_nobody_trusts(tls_fake):
    fake, _cert = tls_fake

    with pytest.raises(VendorUnavailable, match="cannot be reached"):
        YmcsAdapter(base_url=fake.url, timeout=5).connect(
            key_id=fake.client_id, secret=fake.client_secret
        )
