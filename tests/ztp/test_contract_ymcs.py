"""The fake YMCS and the YMCS adapter held to the examples in contracts/ymcs.json, each taken
from a named source: the fake answers every recorded request in the recorded shape, and
every request the adapter sends is shaped like a recorded one that succeeds."""

import base64
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztp.fake_ymcs import FakeYmcs
from ztp.ymcs import YmcsAdapter

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "ymcs.json").read_text())
EXAMPLES = CONTRACT["examples"]
UNKNOWN_ID = "0000ffff0000ffff0000ffff0000ffff"
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


class Session:
    """Raw calls to a fake YMCS with a token, fresh timestamp and nonce headers each."""

    def __init__(self, fake: FakeYmcs) -> None:
        self.fake = fake
        self.last_nonce = ""
        self.http = httpx.Client(base_url=fake.url)
        answer = self.send("POST", "/v2/token", {"grant_type": "client_credentials"}, "basic")
        self.token = answer.json()["access_token"]

    def send(
        self, method: str, path: str, body: Any = None, auth: str = "bearer", *, nonce: str = ""
    ) -> httpx.Response:
        self.last_nonce = nonce or secrets.token_hex(16)
        headers = {"timestamp": str(int(time.time() * 1000)), "nonce": self.last_nonce}
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {self.token}"
        else:
            secret = self.fake.client_secret if auth == "basic" else "wrong"
            pair = f"{self.fake.client_id}:{secret}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, path, content=content, headers=headers)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: names.get(m[0][1:-1], m[0]), value)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _shape(value: Any) -> Any:
    """A JSON value's shape: the keys of objects, the first item of arrays, scalar types."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _path_pattern(template: str) -> re.Pattern[str]:
    """/v2/rps/servers/{server} -> a pattern matching any one path segment there."""
    parts = _PLACEHOLDER.split(template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + r"\Z")


@pytest.fixture
def fake():
    with FakeYmcs() as server:
        yield server


@pytest.fixture
def seeded(fake):
    """A session, and the fake with servers seed and doomed, devices 001565000001 (seed's)
    and 001565000002; the ids by placeholder name."""
    session = Session(fake)
    names = {"unknown": UNKNOWN_ID}
    for key, name in (("server", "seed"), ("doomed_server", "doomed")):
        body = {"serverName": name, "url": f"https://pm.example.com/phones/{name}/"}
        names[key] = session.send("POST", "/v2/rps/servers", body).json()["id"]
    devices = [{"mac": m, "serverId": names["server"]} for m in ("001565000001", "001565000002")]
    assert session.send("POST", "/v2/rps/addDevicesByMac", devices).json()["successCount"] == 2
    names["device"] = fake.devices["001565000001"]["id"]
    yield session, names
    session.http.close()


def test_every_example_names_its_source_and_a_known_request():
    for example in EXAMPLES:
        assert example["source"].strip(), example["name"]
        assert example["request"]["method"] in {"POST", "PATCH"}, example["name"]
        assert example["request"]["path"].startswith("/v2/"), example["name"]
    assert len({e["name"] for e in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_the_fake_answers_each_example_in_its_recorded_shape(fake, seeded, example):
    session, names = seeded
    request, expected = example["request"], example["answer"]
    for attribute, value in request.get("fake", {}).items():
        setattr(fake, attribute, value)
    body = _fill(request.get("body"), names)
    if "repeat" in request:
        (item,) = body
        body = [
            {k: v.replace("{n}", f"{n:05x}") for k, v in item.items()}
            for n in range(request["repeat"])
        ]
    nonce = ""
    if request.get("nonce") == "reused":
        session.send("POST", "/v2/rps/listServers", {"skip": 0, "limit": 1, "filter": {}})
        nonce = session.last_nonce

    answer = session.send(
        request["method"],
        _fill(request["path"], names),
        body,
        request.get("auth", "bearer"),
        nonce=nonce,
    )

    assert answer.status_code == expected["status"], answer.text
    if answer.status_code == 204:
        assert answer.content == b""
        return
    data = answer.json() if answer.content else None
    if "code" in expected:
        assert data["code"] == expected["code"]
    for key in expected.get("keys", []):
        assert key in data, f"{key} missing from {data}"
    if "items" in expected:
        spec = expected["items"]
        items = data[spec["field"]]
        if items is None:
            assert spec.get("nullable"), f"{spec['field']} is null"
            items = []
        assert isinstance(items, list)
        assert len(items) >= spec.get("min", 0)
        for item in items:
            assert set(spec["keys"]) <= set(item), item


def test_every_request_the_adapter_sends_is_a_recorded_one(fake):
    adapter = YmcsAdapter(base_url=fake.url, timeout=5)
    account = adapter.connect(key_id=fake.client_id, secret=fake.client_secret)
    account = adapter.register_url(account, name="pm-acme", url="https://pm.example.com/a/")
    account = adapter.register_url(account, name="pm-acme", url="https://pm.example.com/b/")
    assert adapter.registered_url(account) == "https://pm.example.com/b/"
    adapter.register(account, mac="001565AABBCC", url="https://pm.example.com/b/")
    adapter.register(account, mac="001565AABBCC", url="https://pm.example.com/b/")  # moved
    assert adapter.lookup(account, mac="001565AABBCC") is not None
    assert adapter.phones(account) == {"001565AABBCC"}
    adapter.unregister(account, mac="001565AABBCC")
    adapter.unregister(account, mac="001565AABBCC")  # not listed: nothing sent to delete
    adapter.release(account)

    succeeding = [e for e in EXAMPLES if 200 <= e["answer"]["status"] < 300]
    seen = set()
    for method, path, body in fake.calls:
        matches = [
            e["name"]
            for e in succeeding
            if e["request"]["method"] == method
            and _path_pattern(e["request"]["path"]).match(path)
            and _shape(e["request"].get("body")) == _shape(body)
        ]
        assert matches, f"no recorded example for {method} {path} {json.dumps(body)}"
        seen.update(matches)
    assert {
        "token",
        "list servers",
        "create a server",
        "update a server",
        "add devices by MAC",
        "add devices by MAC, one already this enterprise's",
        "list devices by MAC",
        "list every device",
        "move a device to a server",
        "delete devices by MAC",
        "delete servers",
    } <= seen
