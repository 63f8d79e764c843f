"""Hawk request signing (HMAC-SHA256), as SRAPS requires it, and its verification for the fake.

Hawk (https://github.com/mozilla/hawk, "Protocol Reference") signs each request with a
shared key: the client sends

    Authorization: Hawk id="<key id>", ts="<unix seconds>", nonce="<random>",
                   hash="<payload hash>", mac="<request MAC>"

where the payload hash is base64(SHA-256("hawk.1.payload\\n" + content type + "\\n" + body +
"\\n")) and the MAC is base64(HMAC-SHA256(key, "hawk.1.header\\n" + ts, nonce, method, request
URI, host, port, hash and ext, each followed by "\\n")). The server recomputes the MAC with
the key it holds for the id, refuses a timestamp outside its window and a nonce it has seen.

No maintained Python library implements it (mohawk's last release is from 2019, hawkauthlib's
from 2017), and the scheme is small, so it is written here against the specification's
published test vectors (tests/ztp/test_hawk.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

HEADER_VERSION = "hawk.1.header"
PAYLOAD_VERSION = "hawk.1.payload"
TS_VERSION = "hawk.1.ts"
# How far a request's timestamp may be from the server's clock (the specification's default).
DEFAULT_SKEW_SECONDS = 60
_ATTRIBUTE = re.compile(r'(\w+)="([^"\\]*)"\s*(?:,\s*|$)')
_ALLOWED_ATTRIBUTES = {"id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"}


class HawkError(Exception):
    """A request whose Hawk header is missing, malformed or does not verify."""


class StaleTimestamp(HawkError):
    """A request signed well, but with a timestamp outside the server's window."""


@dataclass(frozen=True)
class Artifacts:
    """What a MAC covers."""

    method: str
    resource: str  # path and query, as sent
    host: str
    port: int
    ts: int
    nonce: str
    hash: str = ""
    ext: str = ""


def payload_hash(body: bytes, content_type: str) -> str:
    """The hash of a body; the content type is compared without parameters, lower-case."""
    mime = content_type.split(";", 1)[0].strip().lower()
    digest = hashlib.sha256(f"{PAYLOAD_VERSION}\n{mime}\n".encode() + body + b"\n").digest()
    return base64.b64encode(digest).decode()


def request_mac(key: str, artifacts: Artifacts) -> str:
    normalized = (
        f"{HEADER_VERSION}\n{artifacts.ts}\n{artifacts.nonce}\n{artifacts.method.upper()}\n"
        f"{artifacts.resource}\n{artifacts.host.lower()}\n{artifacts.port}\n"
        f"{artifacts.hash}\n{artifacts.ext}\n"
    )
    digest = hmac.new(key.encode(), normalized.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def timestamp_mac(key: str, ts: int) -> str:
    """The `tsm` of a stale-timestamp answer: base64(HMAC-SHA256(key, "hawk.1.ts\\n" + ts +
    "\\n")), so a client can trust the server's clock it is given."""
    digest = hmac.new(key.encode(), f"{TS_VERSION}\n{ts}\n".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def stale_header(key: str, now: float | None = None) -> str:
    """The WWW-Authenticate header of a 401 for a timestamp outside the server's window
    (the specification's "Timestamp Skew"): the server's time, signed with the key."""
    ts = int(time.time() if now is None else now)
    return f'Hawk ts="{ts}", tsm="{timestamp_mac(key, ts)}", error="Stale timestamp"'


def server_clock(header: str, key: str) -> int | None:
    """The server's time from a stale-timestamp WWW-Authenticate header, if its `tsm`
    proves it came from a holder of `key`; None for any other header (bad credentials,
    or a `tsm` that does not verify, which a client must not adjust its clock by)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "hawk":
        return None
    attributes = dict(_ATTRIBUTE.findall(rest))
    ts, tsm = attributes.get("ts", ""), attributes.get("tsm", "")
    if attributes.get("error", "").lower() != "stale timestamp" or not ts.isdigit() or not tsm:
        return None
    if len(ts) > 12 or not hmac.compare_digest(timestamp_mac(key, int(ts)), tsm):
        return None
    return int(ts)


def _host_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resource = parts.path or "/"
    if parts.query:
        resource = f"{resource}?{parts.query}"
    return parts.hostname or "", resource, port


def sign(
    *,
    key_id: str,
    key: str,
    method: str,
    url: str,
    body: bytes | None = None,
    content_type: str = "",
    ts: int | None = None,
    nonce: str | None = None,
    ext: str = "",
) -> str:
    """The Authorization header for one request. A body is always covered by the hash."""
    host, resource, port = _host_port(url)
    artifacts = Artifacts(
        method=method,
        resource=resource,
        host=host,
        port=port,
        ts=int(time.time()) if ts is None else ts,
        nonce=nonce or secrets.token_urlsafe(9),
        hash=payload_hash(body, content_type) if body is not None else "",
        ext=ext,
    )
    mac = request_mac(key, artifacts)
    header = f'Hawk id="{key_id}", ts="{artifacts.ts}", nonce="{artifacts.nonce}"'
    if artifacts.hash:
        header += f', hash="{artifacts.hash}"'
    if ext:
        header += f', ext="{ext}"'
    return f'{header}, mac="{mac}"'


def parse(header: str) -> dict[str, str]:
    """The attributes of a Hawk Authorization header; HawkError when it is not one."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "hawk" or not rest.strip():
        raise HawkError("not a Hawk Authorization header")
    rest = rest.strip()
    attributes: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _ATTRIBUTE.match(rest, position)
        if match is None:
            raise HawkError("malformed Hawk header")
        name, value = match.groups()
        if name not in _ALLOWED_ATTRIBUTES or name in attributes:
            raise HawkError(f"unexpected Hawk attribute {name!r}")
        attributes[name] = value
        position = match.end()
    for required in ("id", "ts", "nonce", "mac"):
        if not attributes.get(required):
            raise HawkError(f"Hawk header lacks {required}")
    if not attributes["ts"].isdigit():
        raise HawkError("Hawk ts is not a number")
    return attributes


def verify(
    *,
    header: str,
    method: str,
    resource: str,
    host: str,
    port: int,
    body: bytes,
    content_type: str,
    key_for: dict[str, str],
    seen_nonces: set[tuple[str, str, str]],
    now: float | None = None,
    skew: int = DEFAULT_SKEW_SECONDS,
) -> str:
    """Check one request (the server side; the fakes use it). Returns the key id.

    ``key_for`` maps key ids to keys; ``seen_nonces`` is the server's replay memory and
    gains this request's (id, ts, nonce). A body must be covered by the payload hash."""
    attributes = parse(header)
    key_id = attributes["id"]
    key = key_for.get(key_id)
    if key is None:
        raise HawkError("unknown Hawk credentials")
    artifacts = Artifacts(
        method=method,
        resource=resource,
        host=host,
        port=port,
        ts=int(attributes["ts"]),
        nonce=attributes["nonce"],
        hash=attributes.get("hash", ""),
        ext=attributes.get("ext", ""),
    )
    if not hmac.compare_digest(request_mac(key, artifacts), attributes["mac"]):
        raise HawkError("bad Hawk MAC")
    if (body or artifacts.hash) and not hmac.compare_digest(
        payload_hash(body, content_type), artifacts.hash
    ):
        raise HawkError("bad Hawk payload hash")
    current = time.time() if now is None else now
    if abs(current - artifacts.ts) > skew:
        raise StaleTimestamp("stale Hawk timestamp")
    replay = (key_id, attributes["ts"], artifacts.nonce)
    if replay in seen_nonces:
        raise HawkError("replayed Hawk nonce")
    seen_nonces.add(replay)
    return key_id
