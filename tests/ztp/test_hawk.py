"""Hawk signing against the specification's published examples, and the verification the
fakes use."""

import pytest

from ztp import hawk

# The Hawk specification's example credentials and request ("Protocol Reference").
KEY_ID, KEY = "dh37fgj492je", "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn"
URL = "http://example.com:8000/resource/1?b=1&a=2"
TS, NONCE, EXT = 1353832234, "j4h3g2", "some-app-ext-data"


def test_the_specifications_get_example():
    header = hawk.sign(key_id=KEY_ID, key=KEY, method="GET", url=URL, ts=TS, nonce=NONCE, ext=EXT)
    assert hawk.parse(header)["mac"] == "6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="


def test_the_specifications_payload_example():
    body, content_type = b"Thank you for flying Hawk", "text/plain"
    assert hawk.payload_hash(body, content_type) == "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY="
    header = hawk.sign(
        key_id=KEY_ID,
        key=KEY,
        method="POST",
        url=URL,
        body=body,
        content_type=content_type,
        ts=TS,
        nonce=NONCE,
        ext=EXT,
    )
    attributes = hawk.parse(header)
    assert attributes["hash"] == "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY="
    assert attributes["mac"] == "aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw="


def test_content_type_parameters_do_not_change_the_hash():
    assert hawk.payload_hash(b"{}", "application/json; charset=utf-8") == hawk.payload_hash(
        b"{}", "Application/JSON"
    )


def _verify(header, *, method="POST", resource="/resource/1?b=1&a=2", body=b"{}", seen=None):
    return hawk.verify(
        header=header,
        method=method,
        resource=resource,
        host="example.com",
        port=8000,
        body=body,
        content_type="application/json",
        key_for={KEY_ID: KEY},
        seen_nonces=set() if seen is None else seen,
    )


def _signed(**overrides):
    arguments = {
        "key_id": KEY_ID,
        "key": KEY,
        "method": "POST",
        "url": URL,
        "body": b"{}",
        "content_type": "application/json",
        **overrides,
    }
    return hawk.sign(**arguments)


def test_a_signed_request_verifies():
    assert _verify(_signed()) == KEY_ID


@pytest.mark.parametrize(
    ("header", "kwargs", "problem"),
    [
        (lambda: _signed(key="wrong"), {}, "bad Hawk MAC"),
        (lambda: _signed(key_id="someone"), {}, "unknown Hawk credentials"),
        (lambda: _signed(), {"method": "PUT"}, "bad Hawk MAC"),
        (lambda: _signed(), {"resource": "/resource/2"}, "bad Hawk MAC"),
        (lambda: _signed(), {"body": b'{"x": 1}'}, "bad Hawk payload hash"),
        (lambda: _signed(ts=TS), {}, "stale Hawk timestamp"),
        (lambda: "Bearer abc", {}, "not a Hawk"),
        (lambda: 'Hawk id="a", ts="x", nonce="n", mac="m"', {}, "ts is not a number"),
        (lambda: 'Hawk id="a", nonce="n", mac="m"', {}, "lacks ts"),
        (lambda: 'Hawk id="a" ts="1"', {}, "malformed"),
    ],
)
def test_bad_requests_are_refused(header, kwargs, problem):
    with pytest.raises(hawk.HawkError, match=problem):
        _verify(header(), **kwargs)


def test_a_replayed_nonce_is_refused():
    header, seen = _signed(), set()
    _verify(header, seen=seen)
    with pytest.raises(hawk.HawkError, match="replayed"):
        _verify(header, seen=seen)


# The specification's "Timestamp Skew" example (Tent's Hawk documentation; the Go
# implementation's TestStaleHeader): key, server time and its tsm.
SKEW_KEY = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn"
SKEW_HEADER = (
    'Hawk ts="1365741469", tsm="b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA=", '
    'error="Stale timestamp"'
)


def test_the_specifications_stale_timestamp_example():
    assert hawk.stale_header(SKEW_KEY, now=1365741469) == SKEW_HEADER
    assert hawk.server_clock(SKEW_HEADER, SKEW_KEY) == 1365741469


@pytest.mark.parametrize(
    "header",
    [
        SKEW_HEADER.replace("b4Qq", "c4Qq"),  # a tsm that does not verify
        SKEW_HEADER.replace('ts="1365741469"', 'ts="1365741470"'),  # another time, same tsm
        'Hawk error="Stale timestamp"',  # no time given
        'Hawk ts="1365741469", tsm="b4Qqhz8OUBq21saghHLV1ktwlXE72T1xtTEZkSlWizA="',  # no error
        'Hawk error="Unknown credentials"',
        'Basic realm="x"',
        "",
        'Hawk ts="' + "9" * 5000 + '", tsm="x", error="Stale timestamp"',
    ],
)
def test_a_server_clock_is_trusted_only_when_its_tsm_verifies(header):
    assert hawk.server_clock(header, SKEW_KEY) is None
    assert hawk.server_clock(SKEW_HEADER, SKEW_KEY + "x") is None
