"""Adapters to Snom's Secure Redirection and Provisioning Service (SRAPS) and Gigaset's
GRAPE, which share one API: REST under `/api/v1`, every request signed with Hawk
(ztp.hawk, HMAC-SHA256) with an access key ID and secret, JSON bodies, lists as JSON
arrays paged with an RFC 8288 `Link: <…>; rel="next"` header.

The key is the customer's own, made in the vendor's web front end and entered on the ZTP
card: the API has no call that makes companies or keys (docs/ztp-sources.md, source D).
Every call below is one a client in production sends; the letters are the sources in
docs/ztp-sources.md (A: sipwise ngcp-panel's Snom.pm; B: nethesis falconieri's
libs/grape, used for both SRAPS and GRAPE; E: Gigaset's GRAPE best practices):

    GET    tokens/{access_key_id}     the key's company: {"links": {"company": <URL>}} (A, B)
    GET    <company URL>              {"links": {"endpoints": <URL>}} (B)
    GET    settings/?page_size=1000   [{"uuid", "param_name", …}], paged (B; E: look the
                                      setting up at run time, it differs by product)
    PUT    <endpoints URL><mac>       {"mac", "autoprovisioning_enabled",
                                       "settings_manager": {<uuid>: {"value": <url>,
                                       "attrs": {"perm": "RW"}}}} (A, B)
    GET    <endpoints URL>            [{"mac", …}], the company's phones (A)
    DELETE <endpoints URL><mac>       after the list shows the phone (A)

The URL is set on each phone (`holds_url` False): SRAPS's `setting_server` of section
`phone-settings` (A), GRAPE's `ProvisioningServer` (B). The phone replaces `{mac}`
(Snom) or `%MACD` (Gigaset) in it with its own MAC, so one URL serves every phone.

A MAC of another company is refused with `taken_mac_or_forbidden` or `User lacks
permission to endpoint` in the JSON error's message, error or detail (B; the status is
not published): `MacTaken`. Links the vendor answers are followed only on its own host:
a signed request is never sent elsewhere.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from ztp import hawk
from ztp.adapters import (
    AccountRefused,
    InvalidMac,
    MacTaken,
    Registration,
    VendorAccount,
    VendorRejected,
    ZtpAdapter,
    mac_for_vendor,
    mac_from_vendor,
    timeout,
    vendor_settings,
)
from ztp.models import Vendor
from ztp.vendor_http import VendorHttp, next_link

# What SRAPS and GRAPE answer for a MAC of another company, as the working clients match
# it (in the JSON error's message, error or detail; the status is not published).
TAKEN = ("taken_mac_or_forbidden", "User lacks permission to endpoint")
# A list longer than this many pages is a broken server, not a big account.
MAX_PAGES = 200


class HawkAdapter(ZtpAdapter):
    """SRAPS and GRAPE: the same calls, another host and provisioning setting."""

    holds_url = False
    default_url: str
    url_setting: str
    server_setting: str
    server_section: str = ""  # "" is any section

    def __init__(self, *, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Seconds the vendor's clock is ahead of ours, learnt from a stale-timestamp answer.
        self._clock_offset = 0

    @classmethod
    def from_settings(cls) -> HawkAdapter:
        config = vendor_settings(cls.vendor)
        return cls(base_url=config.get("url") or cls.default_url, timeout=timeout())

    def __repr__(self) -> str:  # never show a secret
        return f"{type(self).__name__}({self.base_url!r})"

    # --- the interface ----------------------------------------------------------------

    def connect(self, *, key_id: str, secret: str) -> VendorAccount:
        client = self._client(key_id, secret)
        company_url = self._company_of(client, key_id)
        company = self._object(client, "GET", company_url)
        links = company.get("links")
        endpoints = links.get("endpoints") if isinstance(links, dict) else None
        if not isinstance(endpoints, str) or not endpoints:
            raise client.malformed("GET", company_url, "the company has no endpoints link")
        self._same_host(client, endpoints, company_url)
        setting = self._server_setting(client)
        return VendorAccount(
            company_id=_last_segment(company_url),
            key_id=key_id,
            secret=secret,
            extra={
                "company": company_url,
                "endpoints": endpoints.rstrip("/") + "/",
                "setting": setting,
            },
        )

    def check_credentials(self, account: VendorAccount) -> None:
        client = self._client(account.key_id, account.secret)
        company_url = self._company_of(client, account.key_id)
        if _last_segment(company_url) != account.company_id:
            raise VendorRejected(
                f"{self.label} says this key belongs to company {_last_segment(company_url)}, "
                f"not {account.company_id}"
            )

    def register_url(self, account: VendorAccount, *, name: str, url: str) -> VendorAccount:
        return account  # nothing is held for the company: the URL goes on each phone

    def release(self, account: VendorAccount) -> None:
        pass  # register_url made nothing

    def register(self, account: VendorAccount, *, mac: str, url: str) -> None:
        account = self._ready(account)
        client = self._client(account.key_id, account.secret)
        body: dict[str, Any] = {
            "mac": mac_for_vendor(mac),
            "autoprovisioning_enabled": True,
            "settings_manager": {account.extra["setting"]: {"value": url, "attrs": {"perm": "RW"}}},
        }
        try:
            client.request("PUT", self._endpoint(account, mac), json=body)
        except VendorRejected as exc:
            if any(text.lower() in str(exc).lower() for text in TAKEN):
                raise MacTaken(
                    f"{_mac_text(mac)} is registered to another {self.label} account ({exc})",
                    status=exc.status,
                ) from None
            if exc.status == 403:
                # The key read its company a moment ago: it works, but may not write.
                raise AccountRefused(
                    f"{self.label} refused to register {_mac_text(mac)} ({exc}): the API key "
                    "may lack a Role that may manage endpoints; give it one in "
                    f"{self.label}'s front end.",
                    status=403,
                ) from None
            if exc.status == 400:
                raise InvalidMac(
                    f"{self.label} refused {_mac_text(mac)}: {exc}", status=400
                ) from None
            raise

    def unregister(
        self, account: VendorAccount, *, mac: str, listed: set[str] | None = None
    ) -> None:
        # A 404 from DELETE proves nothing (a wrong route answers it too): the company's
        # list says whether the phone is there; one the list shows is deleted.
        account = self._ready(account)
        if mac not in (listed if listed is not None else self.phones(account)):
            return
        client = self._client(account.key_id, account.secret)
        response = client.request("DELETE", self._endpoint(account, mac), ok=(404,))
        if response.status_code == 404 and mac in self.phones(account):
            # Listed, yet its route is not found: not gone, whatever the 404 says.
            raise VendorRejected(
                f"{self.label} answered 404 to DELETE of {_mac_text(mac)}, which it still lists.",
                status=404,
            )

    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None:
        for item in self._endpoints(account):
            if mac_from_vendor(item.get("mac")) == mac:
                return Registration(
                    mac=mac, url=_managed_value(item, account), company_id=account.company_id
                )
        return None

    def phones(self, account: VendorAccount) -> set[str]:
        return {m for m in (mac_from_vendor(i.get("mac")) for i in self._endpoints(account)) if m}

    # --- plumbing ---------------------------------------------------------------------

    def _client(self, key_id: str, secret: str) -> VendorHttp:
        def signer(method: str, url: str, body: bytes | None, content_type: str) -> dict:
            header = hawk.sign(
                key_id=key_id,
                key=secret,
                method=method,
                url=url,
                body=body,
                content_type=content_type,
                ts=int(time.time()) + self._clock_offset,
            )
            return {"Authorization": header}

        def resync(response) -> bool:
            # Hawk's "Timestamp Skew": a 401 carrying the server's time, signed with our
            # key (tsm). Trusted only if it verifies; the request is sent once more.
            clock = hawk.server_clock(response.headers.get("WWW-Authenticate", ""), secret)
            if clock is None or clock - int(time.time()) == self._clock_offset:
                return False
            self._clock_offset = clock - int(time.time())
            return True

        return VendorHttp(
            label=self.label,
            base_url=self.base_url,
            signer=signer,
            timeout=self.timeout,
            url_setting=self.url_setting,
            resync=resync,
        )

    def _object(self, client: VendorHttp, method: str, path: str) -> dict[str, Any]:
        data = client.json(client.request(method, path), method, path)
        if not isinstance(data, dict):
            raise client.malformed(method, path, "expected an object")
        return data

    def _paged(self, client: VendorHttp, path: str) -> list[dict[str, Any]]:
        """Every item of a list, following Link rel="next" on the same host."""
        items: list[dict[str, Any]] = []
        url = path
        for _page in range(MAX_PAGES):
            response = client.request("GET", url)
            data = client.json(response, "GET", url)
            if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
                raise client.malformed("GET", url, "expected a list of objects")
            items.extend(data)
            url = next_link(response.headers.get("link", ""))
            if not url:
                return items
            self._same_host(client, url, path)
        raise client.malformed("GET", path, f"more than {MAX_PAGES} pages")

    def _same_host(self, client: VendorHttp, url: str, where: str) -> None:
        if not client.same_origin(url):
            # Following it would send a signed request to whoever the link names. Retrying
            # will not help: the vendor names another host than the one configured.
            raise VendorRejected(
                f"{self.label} answered GET {where} with a link to another host "
                f"({url[:200]}) than {self.url_setting} names: set {self.url_setting} to "
                "that host."
            )

    def _company_of(self, client: VendorHttp, key_id: str) -> str:
        path = f"tokens/{quote(key_id, safe='')}"
        data = self._object(client, "GET", path)
        links = data.get("links")
        company = links.get("company") if isinstance(links, dict) else None
        if not isinstance(company, str) or not _last_segment(company):
            raise client.malformed("GET", path, "the token has no company link")
        self._same_host(client, company, path)
        return company

    def _server_setting(self, client: VendorHttp) -> str:
        # About 1,200 settings, 20 a page by default: the largest page there is (B).
        for setting in self._paged(client, "settings/?page_size=1000"):
            if setting.get("param_name") != self.server_setting:
                continue
            if self.server_section and setting.get("section", "") not in {self.server_section, ""}:
                continue
            uuid = setting.get("uuid")
            if isinstance(uuid, str) and uuid:
                return uuid
        raise VendorRejected(f"{self.label} lists no {self.server_setting} setting")

    def _ready(self, account: VendorAccount) -> VendorAccount:
        """The account with its endpoints URL and setting; an account stored before they
        were kept learns them again from its key."""
        if account.extra.get("endpoints") and account.extra.get("setting"):
            return account
        fresh = self.connect(key_id=account.key_id, secret=account.secret)
        return replace(account, extra={**account.extra, **fresh.extra})

    def _endpoints(self, account: VendorAccount) -> list[dict[str, Any]]:
        account = self._ready(account)
        client = self._client(account.key_id, account.secret)
        return self._paged(client, account.extra["endpoints"])

    def _endpoint(self, account: VendorAccount, mac: str) -> str:
        return account.extra["endpoints"] + quote(mac_for_vendor(mac), safe="")


class SrapsAdapter(HawkAdapter):
    vendor = Vendor.SNOM
    label = "Snom SRAPS"
    key_help = (
        "Make an API key in SRAPS (secure-provisioning.snom.com, your company's API keys) "
        "with a Role that may manage endpoints, and enter its ID and secret."
    )
    default_url = "https://secure-provisioning.snom.com/api/v1"
    url_setting = "ZTP_SNOM_API_URL"
    server_setting = "setting_server"
    server_section = "phone-settings"


class GrapeAdapter(HawkAdapter):
    vendor = Vendor.GIGASET
    label = "Gigaset GRAPE"
    key_help = (
        "Make an API key for your company in Gigaset's GRAPE portal and enter its ID and secret."
    )
    default_url = "https://api.grape.gigaset.net/api/v1"
    url_setting = "ZTP_GIGASET_API_URL"
    server_setting = "ProvisioningServer"


def _last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rpartition("/")[2]


def _managed_value(item: dict[str, Any], account: VendorAccount) -> str:
    """The provisioning URL in an endpoint as listed, "" if the list does not carry it."""
    managed = item.get("settings_manager")
    entry = managed.get(account.extra.get("setting", "")) if isinstance(managed, dict) else None
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, str) else ""


def _mac_text(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)) if len(mac) == 12 else mac
