"""What the vendor adapters share: one HTTP request with its timeout, one retry for idempotent
reads, and the sorting of failures into VendorUnavailable and VendorRejected."""

from __future__ import annotations

import json as jsonlib
import logging
import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.http import checked, sent
from ztp.adapters import (
    READ_ATTEMPTS,
    CredentialsRejected,
    VendorRejected,
    VendorUnavailable,
)

logger = logging.getLogger(__name__)

# Builds the authentication headers of one attempt: (method, url, body, content type).
Signer = Callable[[str, str, bytes | None, str], dict[str, str]]
# Given a 401, whether the signer has corrected something (its clock) so that the request,
# signed again, is worth sending once more.
Resync = Callable[[httpx.Response], bool]
JSON_TYPE = "application/json"


class VendorHttp:
    """Requests to one vendor API with one set of credentials. Each request opens and closes
    its own connection: an action makes a handful of calls, and nothing stays open."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        signer: Signer,
        timeout: float,
        url_setting: str,
        resync: Resync | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.url_setting = url_setting  # named in messages about a wrong address
        self._signer = signer
        self._resync = resync
        # httpx's certificate check: True (the default trust store), or a context of the
        # caller's (a vendor's TLS options, a test's own CA).
        self._verify = verify

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path}"

    def same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotent: bool | None = None,
        ok: Iterable[int] = (),
    ) -> httpx.Response:
        """Send one request; a 2xx answer (or one of `ok`) is returned, anything else raises.

        GET is retried once after a timeout, a network error, 429 or 5xx; other methods
        only when `idempotent` says so (a read sent as POST)."""
        url = self.url(path)
        body = None if json is None else _json_bytes(json)
        retry = method == "GET" if idempotent is None else idempotent
        attempts = READ_ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._once(method, url, body, tuple(ok))
            except VendorUnavailable:
                if attempt == attempts:
                    raise
                logger.info("%s: retrying %s %s", self.label, method, url)
        raise AssertionError("unreachable")

    def json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise self.malformed(method, path, "the answer is not JSON") from None

    def malformed(self, method: str, path: str, problem: str) -> VendorUnavailable:
        # A broken or wrong server: nothing we send can fix it, but an upgrade or a restart
        # on the other side may, so it is retried like an outage.
        return VendorUnavailable(
            f"{self.label} sent a malformed answer to {method} {self._shown(path)}: {problem}"
        )

    def _shown(self, path: str) -> str:
        return urlsplit(self.url(path)).path

    def _once(
        self, method: str, url: str, body: bytes | None, ok: tuple[int, ...]
    ) -> httpx.Response:
        content_type = JSON_TYPE if body is not None else ""
        where = f"{method} {urlsplit(url).path}"

        def send() -> httpx.Response:
            # Signed per attempt: a retry gets its own timestamp and nonce.
            headers = {"Accept": JSON_TYPE, **self._signer(method, url, body, content_type)}
            if body is not None:
                headers["Content-Type"] = content_type
            with httpx.Client(
                timeout=httpx.Timeout(self.timeout), follow_redirects=False, verify=self._verify
            ) as http:
                return http.request(method, url, content=body, headers=headers)

        for attempt in range(2):
            response = sent(
                send,
                system=self.label,
                where=where,
                timeout=self.timeout,
                unavailable=VendorUnavailable,
            )
            # A 401 the signer can mend (its clock) is sent once more, signed again.
            if attempt or response.status_code != 401 or self._resync is None:
                break
            if not self._resync(response):
                break
            logger.info("%s: clock resynchronised, sending %s again", self.label, where)
        logger.debug("%s %s -> %s", self.label, where, response.status_code)
        return checked(
            response,
            system=self.label,
            where=where,
            setting=self.url_setting,
            unavailable=VendorUnavailable,
            rejected=VendorRejected,
            ok=ok,
            refusal=_credentials_refused,
        )


def _credentials_refused(status: int, message: str) -> CredentialsRejected | None:
    return CredentialsRejected(message, status=status) if status in {401, 403} else None


def _json_bytes(data: Any) -> bytes:
    return jsonlib.dumps(data, separators=(",", ":")).encode()


def next_link(header: str) -> str:
    """The target of rel="next" in an RFC 8288 Link header, or ""."""
    for part in header.split(","):
        target, *params = part.split(";")
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').split():
                return target.strip().removeprefix("<").removesuffix(">")
    return ""
