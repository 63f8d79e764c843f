"""Contract of the SRAPS and GRAPE fakes and adapters: the examples recorded from the
working clients (tests/ztp/contracts/sraps.json, sources in docs/ztp-sources.md) are
replayed against each fake, which must answer in the shape those clients read; and every
request our adapter sends must be one of those examples."""

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from ztp import hawk
from ztp.fake_sraps import FakeGrape, FakeSraps
from ztp.sraps import GrapeAdapter, SrapsAdapter

CONTRACT = json.loads((Path(__file__).parent / "contracts" / "sraps.json").read_text())
EXAMPLES = CONTRACT["examples"]
MAC = "0004132a3b4c"
URL = "https://pm.example.com/phones/s3cret/snom/{mac}.xml"
VENDORS = {"sraps": (FakeSraps, SrapsAdapter), "grape": (FakeGrape, GrapeAdapter)}


def _fill(value, names):
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _names(fake):
    return {
        "key_id": fake.key_id,
        "company": fake.company,
        "mac": MAC,
        "setting": fake.setting_uuid(),
        "url": URL,
    }


def _send(fake, method, path, body=None):
    url = fake.url + path
    data = None if body is None else json.dumps(body).encode()
    content_type = "application/json" if data is not None else ""
    header = hawk.sign(
        key_id=fake.key_id,
        key=fake.secret,
        method=method,
        url=url,
        body=data,
        content_type=content_type,
        ts=int(time.time()),
    )
    headers = {"Authorization": header}
    if data is not None:
        headers["Content-Type"] = content_type
    return httpx.request(method, url, content=data, headers=headers, timeout=5)


def _has(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


@pytest.mark.parametrize("vendor", sorted(VENDORS))
@pytest.mark.parametrize("example", EXAMPLES, ids=[e["name"] for e in EXAMPLES])
def test_the_fake_answers_each_recorded_example_as_the_clients_read_it(vendor, example):
    with VENDORS[vendor][0]() as fake:
        names = _names(fake)
        request = _fill(example["request"], names)
        given = example.get("given", "")
        if given.startswith("foreign"):
            fake.add_foreign_endpoint(MAC)
        elif given.startswith("clock"):
            fake.clock_offset = 600
        elif request["method"] == "DELETE" or request["path"].endswith("/endpoints/"):
            # A phone to remove or to list: registered as the clients register one.
            register = _fill(EXAMPLES[3]["request"], names)
            _send(fake, "PUT", register["path"], register["body"])
        answer = _send(fake, request["method"], request["path"], request.get("body"))

        expected = example["response"]
        statuses = (
            expected["status"] if isinstance(expected["status"], list) else [expected["status"]]
        )
        assert answer.status_code in statuses, answer.text
        if "text" in expected:
            assert expected["text"] in answer.text + answer.headers.get(
                expected.get("header", "x"), ""
            )
        if "header" in expected:
            assert "tsm=" in answer.headers[expected["header"]]
        if expected.get("type") == "object":
            data = answer.json()
            assert isinstance(data, dict)
            assert all(_has(data, key) for key in expected["keys"]), data
        if expected.get("type") == "array":
            data = answer.json()
            assert isinstance(data, list) and data, data
            assert all(all(k in item for k in expected["item_keys"]) for item in data)


def _shape(method, path, body, names):
    """(method, path with the recorded placeholders, body) of one request."""
    for key in ("company", "key_id", "mac"):
        path = path.replace(names[key], "{" + key + "}")
    return method, path, body


def test_every_request_the_adapter_sends_is_a_recorded_example():
    for vendor, (fake_kind, adapter_kind) in VENDORS.items():
        with fake_kind() as fake:
            adapter = adapter_kind(base_url=fake.api_url, timeout=2)
            account = adapter.connect(key_id=fake.key_id, secret=fake.secret)
            adapter.check_credentials(account)
            adapter.register(account, mac=MAC.upper(), url=URL)
            adapter.phones(account)
            adapter.lookup(account, mac=MAC.upper())
            adapter.unregister(account, mac=MAC.upper())
            adapter.release(account)

            names = _names(fake)
            recorded = {
                (e["request"]["method"], e["request"]["path"].split("?")[0]): e
                for e in EXAMPLES
                if "given" not in e
            }
            sent = [_shape(m, p, b, names) for m, p, b in fake.calls]
            assert sent, vendor
            for method, path, body in sent:
                example = recorded.get((method, path))
                assert example is not None, f"{vendor}: {method} {path} is in no recorded example"
                if "body" in example["request"]:
                    assert body == _fill(example["request"]["body"], names), (vendor, body)
