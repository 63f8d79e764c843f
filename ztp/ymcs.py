"""Adapter to Yealink's redirection and provisioning service (RPS), through the Yealink
Management Cloud Service (YMCS) open API v2.

YMCS authenticates with OAuth 2.0 client credentials: `POST /v2/token` with HTTP Basic
(client ID and secret) and `{"grant_type": "client_credentials"}` answers an access token;
every call then sends `Authorization: Bearer <token>` plus `timestamp` (milliseconds) and
`nonce` headers. Lists are POSTs with `{"skip", "limit", "autoCount", "filter"}` answering
`{"total", "data"}`; errors are 4xx with `{"code", "message"}`. Paths are relative to
`ZTP_YEALINK_API_URL` (a regional host such as https://eu-api.ymcs.yealink.com).

What YMCS documents, and this adapter uses as documented:

    POST   /v2/dm/listSites            the sites (our child companies) of the account
    POST   /v2/dm/sites                {"name", "externalId"} -> {"id", …}
    POST   /v2/rps/listServers         {"filter": {"name"}} -> servers [{"id", "name", "url"}]
    POST   /v2/rps/servers             {"serverName", "url"} -> {"id", …}
    PATCH  /v2/rps/servers/{id}        {"serverName", "url"} (both, else 400 900400)
    POST   /v2/rps/addDevicesByMac     {"devices": [{"mac", "serverId", "uniqueServerUrl"}]}
                                       -> {"successCount", "failureCount", "errors": [...]}
    POST   /v2/rps/listDevices         {"filter": {"mac"}} -> devices [{"id", "mac", …}]
    PATCH  /v2/rps/devices/{id}        {"serverId", "uniqueServerUrl"}
    POST   /v2/rps/delDevices          {"deviceIdType": "mac", "deviceIds": [...]}

What it does not document (API credentials of one site), designed around what the card
needs; see docs/desk-phones.md,
"Zero-touch provisioning":

    POST   /v2/dm/sites/{id}/apiKeys              -> {"clientId", "clientSecret"}
    DELETE /v2/dm/sites/{id}/apiKeys/{clientId}   204, or 404 when already gone

and `externalId` on a site (our reference, found again with `filter: {"externalId"}`).

RPS has no documented placeholder for the MAC in a server URL, so each phone is registered
with its own `uniqueServerUrl`, the MAC filled in here. Error code 800004 ("device already
managed by another organization") is `MacTaken`.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any
from urllib.parse import quote

from ztp.adapters import (
    MAC_PLACEHOLDER,
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
from ztp.vendor_http import VendorHttp

LABEL = "Yealink YMCS"
DEFAULT_URL = "https://eu-api.ymcs.yealink.com"
SERVER_NAME_MAX = 20
LIST_LIMIT = 100
MAX_PAGES = 200
CODE_OTHER_ORGANIZATION = "800004"
CODE_EXISTS = "800003"
CODE_INVALID_MAC = "800001"


class YmcsAdapter(ZtpAdapter):
    vendor = Vendor.YEALINK
    label = LABEL
    reseller_variables = ("ZTP_YEALINK_CLIENT_ID", "ZTP_YEALINK_CLIENT_SECRET")

    def __init__(
        self, *, base_url: str, reseller_client_id: str, reseller_secret: str, timeout: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._reseller_id = reseller_client_id
        self._reseller_secret = reseller_secret
        # Access tokens by client ID for this adapter's lifetime (one action): an import
        # registers many phones with one token.
        self._clients: dict[tuple[str, str], VendorHttp] = {}

    @classmethod
    def from_settings(cls) -> YmcsAdapter:
        config = vendor_settings(Vendor.YEALINK)
        return cls(
            base_url=config.get("url") or DEFAULT_URL,
            reseller_client_id=config.get("key_id", ""),
            reseller_secret=config.get("secret", ""),
            timeout=timeout(),
        )

    def __repr__(self) -> str:  # never show a secret
        return f"YmcsAdapter({self.base_url!r})"

    # --- the interface ----------------------------------------------------------------

    def check_credentials(self, account: VendorAccount | None) -> None:
        # A token is asked for anew: one held from earlier proves nothing now.
        if account is None:
            self.require_reseller()
            self._client(self._reseller_id, self._reseller_secret, cached=False)
            return
        self._client(account.key_id, account.secret, cached=False)

    def onboard(self, *, reference: str, name: str, url: str) -> VendorAccount:
        reseller = self._reseller()
        site = self._find_site(reseller, reference)
        if site is None:
            site = self._object(
                reseller,
                "POST",
                "v2/dm/sites",
                {"name": name[:64], "externalId": reference},
                needs=("id",),
            )["id"]
        account = self.new_key(site)
        try:
            client = self._client(account.key_id, account.secret)
            server = self._server_upsert(client, reference, url)
        except VendorError:
            self.revoke_quietly(account)
            raise
        return VendorAccount(
            company_id=account.company_id,
            key_id=account.key_id,
            secret=account.secret,
            extra={"server": server},
        )

    def new_key(self, company_id: str) -> VendorAccount:
        data = self._object(
            self._reseller(),
            "POST",
            f"v2/dm/sites/{quote(company_id, safe='')}/apiKeys",
            {},
            needs=("clientId", "clientSecret"),
        )
        return VendorAccount(
            company_id=company_id, key_id=data["clientId"], secret=data["clientSecret"]
        )

    def revoke_key(self, account: VendorAccount) -> None:
        path = (
            f"v2/dm/sites/{quote(account.company_id, safe='')}/apiKeys/"
            f"{quote(account.key_id, safe='')}"
        )
        self._reseller().request("DELETE", path, ok=(404,))

    def register(self, account: VendorAccount, *, mac: str, url: str) -> None:
        client = self._client(account.key_id, account.secret)
        device = {
            "mac": mac_for_vendor(mac),
            "serverId": account.extra.get("server", ""),
            "uniqueServerUrl": url.replace(MAC_PLACEHOLDER, mac),
        }
        path = "v2/rps/addDevicesByMac"
        data = self._object(client, "POST", path, {"devices": [device]})
        errors = data.get("errors") or []
        if not isinstance(errors, list):
            raise client.malformed("POST", path, "errors is not a list")
        if not errors and data.get("failureCount", 0) == 0:
            return
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        code, text = str(error.get("code", "")), str(error.get("errorInfo") or error)
        if code == CODE_EXISTS:
            # Ours already: point it at the URL again.
            found = self._device(client, mac)
            if found is None:
                raise VendorRejected(
                    f"{LABEL} says {_mac_text(mac)} exists but lists no such device"
                )
            client.request(
                "PATCH",
                f"v2/rps/devices/{quote(str(found['id']), safe='')}",
                json={"serverId": device["serverId"], "uniqueServerUrl": device["uniqueServerUrl"]},
            )
            return
        if code == CODE_OTHER_ORGANIZATION:
            raise MacTaken(
                f"{_mac_text(mac)} is registered to another {LABEL} organization ({text})"
            )
        if code == CODE_INVALID_MAC:
            raise InvalidMac(f"{LABEL} refused {_mac_text(mac)}: {text}")
        raise VendorRejected(f"{LABEL} did not register {_mac_text(mac)}: {text}")

    def unregister(self, account: VendorAccount, *, mac: str) -> None:
        client = self._client(account.key_id, account.secret)
        if self._device(client, mac) is None:
            return  # already gone
        body = {"deviceIdType": "mac", "deviceIds": [mac_for_vendor(mac)]}
        data = self._object(client, "POST", "v2/rps/delDevices", body)
        if data.get("failureCount", 0):
            reason = data.get("errors") or "no reason given"
            raise VendorRejected(f"{LABEL} did not remove {_mac_text(mac)}: {reason}")

    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None:
        client = self._client(account.key_id, account.secret)
        found = self._device(client, mac)
        if found is None:
            return None
        url = found.get("uniqueServerUrl") or found.get("serverUrl") or ""
        if not isinstance(url, str):
            raise client.malformed("POST", "v2/rps/listDevices", "the device's URL is not text")
        return Registration(mac=mac, url=url, company_id=account.company_id)

    # --- plumbing ---------------------------------------------------------------------

    def registered_url(self, account: VendorAccount) -> str | None:
        client = self._client(account.key_id, account.secret)
        for server in self._list(client, "v2/rps/listServers", {}):
            if str(server.get("id", "")) == account.extra.get("server"):
                url = server.get("url")
                return url if isinstance(url, str) and url else None
        return None

    def register_url(self, account: VendorAccount, *, reference: str, url: str) -> VendorAccount:
        client = self._client(account.key_id, account.secret)
        server = self._server_upsert(client, reference, url)
        return VendorAccount(
            company_id=account.company_id,
            key_id=account.key_id,
            secret=account.secret,
            extra={**account.extra, "server": server},
        )

    def require_reseller(self) -> None:
        if not (self._reseller_id and self._reseller_secret):
            raise ResellerNotConfigured(
                f"{LABEL} reseller credentials (ZTP_YEALINK_CLIENT_ID and "
                "ZTP_YEALINK_CLIENT_SECRET) are not set"
            )

    def _reseller(self) -> VendorHttp:
        self.require_reseller()
        return self._client(self._reseller_id, self._reseller_secret)

    def _client(self, client_id: str, secret: str, *, cached: bool = True) -> VendorHttp:
        """A client holding an access token for these credentials (one token call per
        adapter, unless `cached` is False)."""
        if cached and (client_id, secret) in self._clients:
            return self._clients[client_id, secret]
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        token_http = VendorHttp(
            label=LABEL,
            base_url=self.base_url,
            signer=lambda *_a: {"Authorization": f"Basic {basic}", **_replay_headers()},
            timeout=self.timeout,
            url_setting="ZTP_YEALINK_API_URL",
        )
        path = "v2/token"
        # Asking for a token changes nothing: it is retried like a read.
        response = token_http.request(
            "POST", path, json={"grant_type": "client_credentials"}, idempotent=True
        )
        data = token_http.json(response, "POST", path)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise token_http.malformed("POST", path, "no access_token")
        client = VendorHttp(
            label=LABEL,
            base_url=self.base_url,
            signer=lambda *_a: {"Authorization": f"Bearer {token}", **_replay_headers()},
            timeout=self.timeout,
            url_setting="ZTP_YEALINK_API_URL",
        )
        self._clients[client_id, secret] = client
        return client

    def _object(
        self, client: VendorHttp, method: str, path: str, body: Any, *, needs=(), read=False
    ) -> dict[str, Any]:
        response = client.request(method, path, json=body, idempotent=read)
        data = client.json(response, method, path)
        if not isinstance(data, dict):
            raise client.malformed(method, path, "expected an object")
        for name in needs:
            if data.get(name) in (None, ""):
                raise client.malformed(method, path, f"{name} is missing")
        return data

    def _list(self, client: VendorHttp, path: str, filter_: dict[str, str]) -> list[dict]:
        """Every item of a skip/limit list (reads sent as POST: retried like GETs)."""
        items: list[dict] = []
        for _page in range(MAX_PAGES):
            body = {"skip": len(items), "limit": LIST_LIMIT, "autoCount": True, "filter": filter_}
            data = self._object(client, "POST", path, body, read=True)
            page, total = data.get("data"), data.get("total")
            if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                raise client.malformed("POST", path, "data is not a list of objects")
            if not isinstance(total, int) or isinstance(total, bool):
                raise client.malformed("POST", path, "total is not a number")
            items.extend(page)
            if not page or len(items) >= total:
                return items
        raise client.malformed("POST", path, f"more than {MAX_PAGES} pages")

    def _find_site(self, reseller: VendorHttp, reference: str) -> str | None:
        for site in self._list(reseller, "v2/dm/listSites", {"externalId": reference}):
            if site.get("externalId") == reference and site.get("id"):
                return str(site["id"])
        return None

    def _server_upsert(self, client: VendorHttp, reference: str, url: str) -> str:
        name = _server_name(reference)
        for server in self._list(client, "v2/rps/listServers", {"name": name}):
            if server.get("name") == name and server.get("id"):
                # YMCS wants the name with the URL on every update (400 without).
                client.request(
                    "PATCH",
                    f"v2/rps/servers/{quote(str(server['id']), safe='')}",
                    json={"serverName": name, "url": url},
                )
                return str(server["id"])
        created = self._object(
            client, "POST", "v2/rps/servers", {"serverName": name, "url": url}, needs=("id",)
        )
        return str(created["id"])

    def _device(self, client: VendorHttp, mac: str) -> dict[str, Any] | None:
        wanted = mac_for_vendor(mac)
        for device in self._list(client, "v2/rps/listDevices", {"mac": wanted}):
            if str(device.get("mac", "")).replace(":", "").replace("-", "").lower() == wanted:
                return device
        return None


def _replay_headers() -> dict[str, str]:
    return {"timestamp": str(int(time.time() * 1000)), "nonce": secrets.token_hex(16)}


def _server_name(reference: str) -> str:
    """RPS server names are at most 20 characters."""
    return reference.split(":")[-1][:SERVER_NAME_MAX] or "provisioning"


def _mac_text(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)) if len(mac) == 12 else mac
