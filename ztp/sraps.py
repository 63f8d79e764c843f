"""Adapter to Snom's Secure Redirection and Provisioning Service (SRAPS), REST API v1.

Every request is signed with Hawk (ztp.hawk) using an access key ID and secret; bodies are
JSON; lists are paged with an RFC 8288 `Link: <…>; rel="next"` header. Paths are relative to
`ZTP_SNOM_API_URL` (https://api.sraps.snom.com/api/v1 by default).

Which of these calls public sources show, and which they do not, is in
docs/ztp-sources.md (sources A to F there). Shown: `GET tokens/{id}` (A, B);
`GET settings/?page_size=1000` with Link paging and the `phone-settings` `setting_server`
(A, B); `GET` and `POST companies/{c}/provisioning-profiles/` (A, which also sends
`product_group`); `PUT` and `DELETE companies/{c}/endpoints/{mac}` (A, B). Not shown, and
still to be replaced: `PUT provisioning-profiles/{uuid}`, `GET endpoints/{mac}`, and
the reseller's company and access-key calls:

    GET    tokens/{access_key_id}                     the key's company: {"links": {"company": url}}
    GET    settings/?page_size=1000                   [{"uuid", "param_name", "section"}], paged
    GET    companies/{company}/provisioning-profiles/ [{"uuid", "name", "settings_manager"}], paged
    POST   companies/{company}/provisioning-profiles/ {"name", "settings_manager"} -> {"uuid", …}
    PUT    companies/{company}/provisioning-profiles/{uuid}          (not shown)
    PUT    companies/{company}/endpoints/{mac}        {"mac", "autoprovisioning_enabled",
                                                       "provisioning_profile", "settings_manager"}
    GET    companies/{company}/endpoints/{mac}        the endpoint, or 404 (not shown)
    DELETE companies/{company}/endpoints/{mac}
    GET    companies/?external_id={reference}         (not shown)
    POST   companies/                                 (not shown)
    POST   companies/{company}/access-keys/           (not shown)
    DELETE companies/{company}/access-keys/{key_id}   (not shown)

`settings_manager` maps a setting's uuid to {"value": …, "attrs": {"perm": "RW"}}; our URL
goes in `setting_server` of section `phone-settings`. The phone replaces `{mac}` in a
setting_server URL with its own MAC, so one URL serves every phone of the customer.

A MAC registered to another company is refused with `taken_mac_or_forbidden` or
`User lacks permission to endpoint` in the error (source B; the status is not published):
`MacTaken`, as is a 409.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from ztp import hawk
from ztp.adapters import (
    InvalidMac,
    MacTaken,
    Registration,
    ResellerNotConfigured,
    VendorAccount,
    VendorError,
    VendorRejected,
    ZtpAdapter,
    mac_for_vendor,
    timeout,
    vendor_settings,
)
from ztp.models import Vendor
from ztp.vendor_http import VendorHttp, next_link

LABEL = "Snom SRAPS"
DEFAULT_URL = "https://api.sraps.snom.com/api/v1"
SERVER_SETTING = "setting_server"
SERVER_SECTION = "phone-settings"
PROFILE_NAME = "Provisioning Manager"
# What SRAPS answers for a MAC of another company, as the working clients match it (in
# the JSON error's message, error or detail; the status is not published).
TAKEN = ("taken_mac_or_forbidden", "User lacks permission to endpoint")
# A list longer than this many pages is a broken server, not a big account.
MAX_PAGES = 200


class SrapsAdapter(ZtpAdapter):
    vendor = Vendor.SNOM
    label = LABEL
    reseller_variables = ("ZTP_SNOM_RESELLER_KEY_ID", "ZTP_SNOM_RESELLER_SECRET")

    def __init__(
        self, *, base_url: str, reseller_key_id: str, reseller_secret: str, timeout: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Seconds SRAPS's clock is ahead of ours, learnt from a stale-timestamp answer.
        self._clock_offset = 0
        self._reseller_key_id = reseller_key_id
        self._reseller_secret = reseller_secret

    @classmethod
    def from_settings(cls) -> SrapsAdapter:
        config = vendor_settings(Vendor.SNOM)
        return cls(
            base_url=config.get("url") or DEFAULT_URL,
            reseller_key_id=config.get("key_id", ""),
            reseller_secret=config.get("secret", ""),
            timeout=timeout(),
        )

    def __repr__(self) -> str:  # never show a secret
        return f"SrapsAdapter({self.base_url!r})"

    # --- the interface ----------------------------------------------------------------

    def check_credentials(self, account: VendorAccount | None) -> None:
        if account is None:
            self._company_of(self._reseller(), self._reseller_key_id)
            return
        company_url = self._company_of(self._client(account.key_id, account.secret), account.key_id)
        if not company_url.rstrip("/").endswith(f"/companies/{account.company_id}"):
            raise VendorRejected(
                f"{LABEL} says these credentials belong to another company than "
                f"{account.company_id}"
            )

    def onboard(self, *, reference: str, name: str, url: str) -> VendorAccount:
        reseller = self._reseller()
        company = self._find_company(reseller, reference)
        if company is None:
            created = self._object(
                reseller,
                "POST",
                "companies/",
                json={"name": name, "external_id": reference},
                needs=("uuid",),
            )
            company = created["uuid"]
        account = self.new_key(company)
        try:
            client = self._client(account.key_id, account.secret)
            setting = self._server_setting(client)
            profile = self._profile_upsert(client, company, setting, url)
        except VendorError:
            self.revoke_quietly(account)
            raise
        return replace(account, extra={"setting": setting, "profile": profile})

    def register(self, account: VendorAccount, *, mac: str, url: str) -> None:
        client = self._client(account.key_id, account.secret)
        setting = account.extra.get("setting") or self._server_setting(client)
        body: dict[str, Any] = {
            "mac": mac_for_vendor(mac),
            "autoprovisioning_enabled": True,
            "settings_manager": {setting: {"value": url, "attrs": {"perm": "RW"}}},
        }
        if account.extra.get("profile"):
            body["provisioning_profile"] = account.extra["profile"]
        try:
            client.request("PUT", self._endpoint(account, mac), json=body)
        except VendorRejected as exc:
            if exc.status == 409 or any(text in str(exc) for text in TAKEN):
                raise MacTaken(
                    f"{_mac_text(mac)} is registered to another {LABEL} account ({exc})",
                    status=409,
                ) from None
            if exc.status == 400:
                raise InvalidMac(f"{LABEL} refused {_mac_text(mac)}: {exc}", status=400) from None
            raise

    def unregister(self, account: VendorAccount, *, mac: str) -> None:
        client = self._client(account.key_id, account.secret)
        client.request("DELETE", self._endpoint(account, mac), ok=(404,))

    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None:
        client = self._client(account.key_id, account.secret)
        path = self._endpoint(account, mac)
        response = client.request("GET", path, ok=(404,))
        if response.status_code == 404:
            return None
        data = client.json(response, "GET", path)
        if not isinstance(data, dict):
            raise client.malformed("GET", path, "expected an endpoint object")
        setting = account.extra.get("setting", "")
        value = ""
        managed = data.get("settings_manager")
        if isinstance(managed, dict) and isinstance(managed.get(setting), dict):
            value = managed[setting].get("value") or ""
        if not isinstance(value, str):
            raise client.malformed("GET", path, "setting_server is not text")
        return Registration(mac=mac, url=value, company_id=account.company_id)

    def registered_url(self, account: VendorAccount) -> str | None:
        client = self._client(account.key_id, account.secret)
        base = f"companies/{quote(account.company_id, safe='')}/provisioning-profiles/"
        setting = account.extra.get("setting", "")
        for profile in self._paged(client, base):
            if profile.get("uuid") != account.extra.get("profile"):
                continue
            managed = profile.get("settings_manager")
            entry = managed.get(setting) if isinstance(managed, dict) else None
            value = entry.get("value") if isinstance(entry, dict) else None
            return value if isinstance(value, str) and value else None
        return None

    def register_url(self, account: VendorAccount, *, reference: str, url: str) -> VendorAccount:
        client = self._client(account.key_id, account.secret)
        setting = account.extra.get("setting") or self._server_setting(client)
        profile = self._profile_upsert(client, account.company_id, setting, url)
        return replace(account, extra={**account.extra, "setting": setting, "profile": profile})

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
            label=LABEL,
            base_url=self.base_url,
            signer=signer,
            timeout=self.timeout,
            url_setting="ZTP_SNOM_API_URL",
            resync=resync,
        )

    def require_reseller(self) -> None:
        if not (self._reseller_key_id and self._reseller_secret):
            raise ResellerNotConfigured(
                f"{LABEL} reseller credentials (ZTP_SNOM_RESELLER_KEY_ID and "
                "ZTP_SNOM_RESELLER_SECRET) are not set"
            )

    def _reseller(self) -> VendorHttp:
        self.require_reseller()
        return self._client(self._reseller_key_id, self._reseller_secret)

    def _object(
        self, client: VendorHttp, method: str, path: str, *, json: Any = None, needs=()
    ) -> dict[str, Any]:
        data = client.json(client.request(method, path, json=json), method, path)
        if not isinstance(data, dict):
            raise client.malformed(method, path, "expected an object")
        for name in needs:
            if not isinstance(data.get(name), str) or not data[name]:
                raise client.malformed(method, path, f"{name} is missing")
        return data

    def _paged(self, client: VendorHttp, path: str) -> list[dict[str, Any]]:
        """Every item of a list, following Link rel="next" on the same host."""
        items: list[dict[str, Any]] = []
        url = path
        for _page in range(MAX_PAGES):
            response = client.request("GET", url)
            data = client.json(response, "GET", url)
            if isinstance(data, dict) and isinstance(data.get("results"), list):
                data = data["results"]
            if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
                raise client.malformed("GET", url, "expected a list of objects")
            items.extend(data)
            url = next_link(response.headers.get("link", ""))
            if not url:
                return items
            if not client.same_origin(url):
                # Following it would send a signed request to whoever the link names.
                raise client.malformed("GET", path, f"the next page is on another host: {url}")
        raise client.malformed("GET", path, f"more than {MAX_PAGES} pages")

    def _company_of(self, client: VendorHttp, key_id: str) -> str:
        path = f"tokens/{quote(key_id, safe='')}"
        data = self._object(client, "GET", path)
        links = data.get("links")
        company = links.get("company") if isinstance(links, dict) else None
        if not isinstance(company, str) or not company:
            raise client.malformed("GET", path, "the token has no company link")
        return company

    def _find_company(self, reseller: VendorHttp, reference: str) -> str | None:
        path = f"companies/?external_id={quote(reference, safe='')}"
        for company in self._paged(reseller, path):
            if company.get("external_id") == reference and isinstance(company.get("uuid"), str):
                return company["uuid"]
        return None

    def new_key(self, company_id: str) -> VendorAccount:
        data = self._object(
            self._reseller(),
            "POST",
            f"companies/{quote(company_id, safe='')}/access-keys/",
            json={"description": PROFILE_NAME},
            needs=("access_key_id", "access_key_secret"),
        )
        return VendorAccount(
            company_id=company_id, key_id=data["access_key_id"], secret=data["access_key_secret"]
        )

    def revoke_key(self, account: VendorAccount) -> None:
        path = (
            f"companies/{quote(account.company_id, safe='')}/access-keys/"
            f"{quote(account.key_id, safe='')}"
        )
        self._reseller().request("DELETE", path, ok=(404,))

    def _server_setting(self, client: VendorHttp) -> str:
        # About 1,200 settings, 20 a page by default: the largest page there is.
        for setting in self._paged(client, "settings/?page_size=1000"):
            if setting.get("param_name") == SERVER_SETTING and setting.get("section", "") in {
                SERVER_SECTION,
                "",
            }:
                uuid = setting.get("uuid")
                if isinstance(uuid, str) and uuid:
                    return uuid
        raise VendorRejected(f"{LABEL} lists no {SERVER_SETTING} setting in {SERVER_SECTION}")

    def _profile_upsert(self, client: VendorHttp, company: str, setting: str, url: str) -> str:
        base = f"companies/{quote(company, safe='')}/provisioning-profiles/"
        body = {
            "name": PROFILE_NAME,
            "settings_manager": {setting: {"value": url, "attrs": {"perm": "RW"}}},
        }
        for profile in self._paged(client, base):
            if profile.get("name") == PROFILE_NAME and isinstance(profile.get("uuid"), str):
                client.request("PUT", f"{base}{quote(profile['uuid'], safe='')}", json=body)
                return profile["uuid"]
        return self._object(client, "POST", base, json=body, needs=("uuid",))["uuid"]

    def _endpoint(self, account: VendorAccount, mac: str) -> str:
        return (
            f"companies/{quote(account.company_id, safe='')}/endpoints/"
            f"{quote(mac_for_vendor(mac), safe='')}"
        )


def _mac_text(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)) if len(mac) == 12 else mac
