"""The real PTT Pro client against the fake server, over real HTTP on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devices.fake_ptt import FakePttServer
from devices.ptt import (
    PttClient,
    PttRejected,
    PttUnavailable,
    RemoteDevice,
    RemoteSite,
    ptt_client,
)

NORTH, SOUTH = "North Warehouse", "South Yard"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # httpx honours proxy variables even for 127.0.0.1; these requests must stay local.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def fake() -> Iterator[FakePttServer]:
    with FakePttServer(departments=[NORTH, SOUTH]) as server:
        yield server


@pytest.fixture
def client(fake) -> Iterator[PttClient]:
    with PttClient(fake.url, fake.api_key, timeout=5) as client:
        yield client


def test_list_sites(fake, client):
    assert client.list_sites() == [RemoteSite(id="1", name=NORTH), RemoteSite(id="2", name=SOUTH)]
    assert fake.requests == [("GET", "/api/v1/departments")]


def test_get_device_without_a_row_is_none(client):
    assert client.get_device("dev-1") is None


def test_get_manual_device(fake, client):
    fake.add_manual_device("dev-1", NORTH)

    assert client.get_device("dev-1") == RemoteDevice(device_id="dev-1", site=NORTH, manual=True)


def test_get_provisioned_device(client):
    client.put_device("dev-1", SOUTH)

    assert client.get_device("dev-1") == RemoteDevice(device_id="dev-1", site=SOUTH, manual=False)


def test_put_creates_then_moves_the_row(fake, client):
    client.put_device("dev-1", NORTH)
    assert fake.rows == {"dev-1": (NORTH, "provisioning")}

    client.put_device("dev-1", SOUTH)
    client.put_device("dev-1", SOUTH)  # again: nothing changes

    assert fake.rows == {"dev-1": (SOUTH, "provisioning")}
    assert fake.requests == [("PUT", "/api/v1/devices/dev-1")] * 3


def test_put_into_an_unknown_department_is_rejected(fake, client):
    with pytest.raises(PttRejected, match="department 'Nowhere' does not exist") as caught:
        client.put_device("dev-1", "Nowhere")

    assert caught.value.status == 404
    assert fake.rows == {}


def test_put_over_a_manual_row_in_another_department_is_rejected(fake, client):
    fake.add_manual_device("dev-1", NORTH)

    with pytest.raises(PttRejected, match="added by hand") as caught:
        client.put_device("dev-1", SOUTH)

    assert caught.value.status == 409
    assert fake.rows == {"dev-1": (NORTH, "manual")}


def test_put_over_a_manual_row_in_its_own_department_leaves_it_manual(fake, client):
    fake.add_manual_device("dev-1", NORTH)

    client.put_device("dev-1", NORTH)

    assert fake.rows == {"dev-1": (NORTH, "manual")}


def test_delete_device(fake, client):
    client.put_device("dev-1", NORTH)
    client.put_device("dev-2", NORTH)

    client.delete_device("dev-1")

    assert fake.rows == {"dev-2": (NORTH, "provisioning")}


def test_deleting_a_missing_device_is_fine(fake, client):
    client.delete_device("dev-1")

    assert fake.requests == [("DELETE", "/api/v1/devices/dev-1")]


CALLS = {
    "list_sites": lambda c: c.list_sites(),
    "get_device": lambda c: c.get_device("dev-1"),
    "put_device": lambda c: c.put_device("dev-1", NORTH),
    "delete_device": lambda c: c.delete_device("dev-1"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_server_down_is_unavailable(fake, client, call):
    fake.down = True

    with pytest.raises(PttUnavailable, match="answered 503") as caught:
        call(client)

    assert caught.value.status == 503


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_wrong_api_key_is_rejected(fake, call):
    with PttClient(fake.url, "not-the-key") as client, pytest.raises(PttRejected) as caught:
        call(client)

    assert caught.value.status == 401
    assert "invalid API key" in str(caught.value)
    assert fake.rows == {}


def test_nothing_listening_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is free again and nothing listens on it.

    with (
        PttClient(f"http://127.0.0.1:{port}", "key") as client,
        pytest.raises(PttUnavailable, match="cannot be reached"),
    ):
        client.list_sites()


def test_a_slow_server_times_out_as_unavailable(fake):
    fake.delay = 2.0
    started = time.monotonic()

    with (
        PttClient(fake.url, fake.api_key, timeout=0.2) as client,
        pytest.raises(PttUnavailable, match=r"within 0\.2 s"),
    ):
        client.get_device("dev-1")

    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("device_id", "path"),
    [
        ("desk 7/a", "/api/v1/devices/desk%207%2Fa"),
        ("a?b#c%d", "/api/v1/devices/a%3Fb%23c%25d"),
        ("..", "/api/v1/devices/%2E%2E"),
        ("Zoë", "/api/v1/devices/Zo%C3%AB"),
    ],
)
def test_device_ids_are_quoted_into_one_path_segment(fake, client, device_id, path):
    client.put_device(device_id, NORTH)
    found = client.get_device(device_id)
    client.delete_device(device_id)

    assert found == RemoteDevice(device_id=device_id, site=NORTH, manual=False)
    assert fake.requests == [("PUT", path), ("GET", path), ("DELETE", path)]
    assert fake.rows == {}


def test_repr_does_not_show_the_key(client, fake):
    assert fake.api_key not in repr(client)


# --- answers the fake never gives: a stub server that returns one canned answer ---------


@contextmanager
def canned(status: int, body: bytes, headers: dict[str, str] | None = None) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_DELETE = _answer

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("body", "call"),
    [
        (b"<html>It works!</html>", CALLS["list_sites"]),
        (b'{"departments": []}', CALLS["list_sites"]),
        (b'[{"id": "1"}]', CALLS["list_sites"]),
        (b"[", CALLS["list_sites"]),
        (b"<html>It works!</html>", CALLS["get_device"]),
        (b'{"deviceId": "dev-1"}', CALLS["get_device"]),
    ],
    ids=["html", "object", "no-name", "truncated", "device-html", "device-no-department"],
)
def test_a_malformed_answer_is_unavailable(body, call):
    with (
        canned(200, body) as url,
        PttClient(url, "key") as client,
        pytest.raises(PttUnavailable, match="malformed answer"),
    ):
        call(client)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (429, b'{"error": "slow down"}', PttUnavailable, "answered 429 .*: slow down"),
        (500, b"<h1>Internal\n Server Error</h1>", PttUnavailable, "<h1>Internal Server Error"),
        (400, b'{"detail": "bad department"}', PttRejected, "answered 400 .*: bad department"),
        (403, b"", PttRejected, "answered 403 to PUT"),
    ],
)
def test_status_codes_sort_into_retry_or_not(status, body, error, text):
    with (
        canned(status, body) as url,
        PttClient(url, "key") as client,
        pytest.raises(error, match=text) as caught,
    ):
        client.put_device("dev-1", NORTH)

    assert caught.value.status == status


def test_a_redirect_is_rejected_naming_the_setting():
    with (
        canned(301, b"", {"Location": "https://ptt.example.com/api/v1/departments"}) as url,
        PttClient(url, "key") as client,
        pytest.raises(PttRejected, match=r"redirected to .*PTT_SERVERS"),
    ):
        client.list_sites()


def test_a_trailing_slash_on_the_base_url_is_ignored(fake):
    with PttClient(fake.url + "/", fake.api_key) as client:
        client.list_sites()

    assert fake.requests == [("GET", "/api/v1/departments")]


def test_ptt_client_reads_the_setting(settings, fake):
    settings.PTT_SERVERS = {"dev03b": {"url": fake.url, "api_key": fake.api_key}}

    with ptt_client("dev03b") as client:
        assert client.list_sites()[0].name == NORTH


def test_ptt_client_for_an_unknown_server_is_rejected(settings):
    settings.PTT_SERVERS = {"dev03b": {"url": "https://ptt.example.com", "api_key": "k"}}

    with pytest.raises(PttRejected) as caught:
        ptt_client("dev04")

    assert str(caught.value) == "no PTT Pro server named 'dev04' is configured (PTT_SERVERS)"
