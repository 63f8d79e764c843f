"""Adapter to Yealink's redirection and provisioning service (RPS), through the Yealink
Management Cloud Service (YMCS) open API "V4X", paths `/v2/…`.

The customer's Super-Admin makes the API key in the YMCS portal (Enterprise Settings → API
Service: one client ID and secret for the whole enterprise) and enters it on the ZTP card;
no source creates or rotates keys through the API. Settings hold only the API's address
(`ZTP_YEALINK_API_URL`, a regional host such as https://eu-api.ymcs.yealink.com).

Sources, as docs/ztp-sources.md names them: dszp/yealink-lib (`src/auth.ts`, `src/http.ts`,
`src/readClient.ts`, `src/writeClient.ts`, `src/model.ts` and its CHANGELOG's "verified
live" notes), dszp/n8n-nodes-yealinkymcs (`nodes/YealinkYmcs/GenericFunctions.ts`,
`YealinkYmcs.node.ts`, its CHANGELOG, and the Yealink PDF it ships, "Open API for Yealink
Management Cloud Service V4X"), nethesis/falconieri (`libs/ymcs/*.go`, and
`utils/utils.go` ParseProviderError). The calls this adapter makes, each with its source:

    POST  /v2/token           HTTP Basic (client ID:secret), {"grant_type":
                              "client_credentials"} -> {"access_token", "token_type",
                              "expires_in"}; a bad key is 401. (yealink-lib src/auth.ts;
                              n8n GenericFunctions.ts getAccessToken; falconieri auth.go,
                              types.go TokenResponse)
    POST  /v2/rps/listServers {"skip", "limit", "autoCount", "filter"} -> {"total", "data":
                              [{"id", "serverName", "url"}]}. (yealink-lib readClient.ts
                              listRpsServers, model.ts YmcsRpsServer; n8n
                              GenericFunctions.ts getCachedRpsServerList, CHANGELOG 0.2.0:
                              the field is serverName, not name)
    POST  /v2/rps/servers     {"serverName", "url"} -> {"id"}; serverName is at most 20
                              characters. (yealink-lib writeClient.ts createRpsServer; n8n
                              node createServer; the 20 in docs/ztp-sources.md)
    PATCH /v2/rps/servers/{id}
                              {"serverName", "url"}, both or 400 900400; answers 204.
                              (yealink-lib CHANGELOG 0.1.0, writes verified live)
    POST  /v2/rps/delServers  {"serverIds": [...]}; there is no single-server DELETE.
                              (yealink-lib CHANGELOG 0.1.0)
    POST  /v2/rps/addDevicesByMac
                              a bare JSON array of {"mac", "serverId"}, at most 100 (an
                              object is 412) -> 200 even when items fail: {"total",
                              "successCount", "failureCount", "errors": [{"mac", "sn",
                              "errorInfo"}]}. Yealink enables it per enterprise.
                              (falconieri devices.go AddDevicesByMac, types.go
                              AddDevicesByMacResponse; yealink-lib CHANGELOG 0.1.0 on bare
                              arrays and on an enterprise not enabled for it; n8n node
                              "configured by Yealink support")
    POST  /v2/rps/listDevices {"skip", "limit", "autoCount", "filter": {"mac"}} -> {"total",
                              "data": [{"id", "mac", "sn", "serverId", "serverName",
                              "serverUrl", "uniqueServerUrl", …}]}; the MAC filter is fuzzy.
                              (falconieri devices.go SearchDevices, types.go Device;
                              yealink-lib readClient.ts listRpsDevices, model.ts)
    PATCH /v2/rps/devices/{id}
                              {"serverId"}; answers 204. (n8n node RPS update; yealink-lib
                              writeClient.ts updateRpsDevice)
    POST  /v2/rps/delDevices  {"deviceIdType": "mac", "deviceIds": [...]} -> {"total",
                              "successCount", "failureCount", "errors": [{"field", "msg"}]}.
                              (falconieri devices.go DeleteDevices, types.go
                              DeleteDevicesResponse; yealink-lib CHANGELOG 0.1.0)

Every call, the token request too, carries fresh `timestamp` (epoch milliseconds) and
`nonce` headers; a reused nonce is 403 code 500403 (yealink-lib src/http.ts; falconieri
client.go; n8n GenericFunctions.ts). Other calls carry `Authorization: Bearer <token>`.
Lists page with skip/limit, and their clients read `data ?? []`: `data` may be null
(yealink-lib readClient.ts listEndpoint; n8n GenericFunctions.ts). Refusals are 4xx with
`{"code", "message"}` (yealink-lib src/http.ts YmcsApiError; falconieri errors.go): a POST
with no body is 412 code 900444, so every POST sends at least `{}` (yealink-lib
writeClient.ts); an unknown id is 400 900400, not 404 (yealink-lib CHANGELOG 0.1.0); 800003
a duplicate, 800004 a device of another enterprise, 800001 an invalid MAC, 429 code 900429
the rate limit (falconieri errors.go).

addDevicesByMac reports each device's failure only in `errorInfo`, with no code field of
its own; it is read the way falconieri's ParseProviderError reads it: "800003" or "resource
already exists" is a device this enterprise holds already (moved to our server with PATCH),
"800004" or "device already managed" (by another organization) is `MacTaken`, "800001" or
"device.mac.invalid" is `InvalidMac`. Which answer an enterprise not enabled for adding by
MAC gets, no source shows; 403 code 900403 ("request forbidden" in falconieri's table) is
taken to be it.

The RPS server's URL is the customer's folder URL: Yealink phones ask it for their files,
so no device gets a `uniqueServerUrl` of its own.

TLS: the n8n node (GenericFunctions.ts, 0.1.x) connected to the YMCS hosts with OpenSSL's
legacy server connect option, and its credential dialog warned about it; it was dropped
when the regional hosts moved to TLS 1.3 (docs/ztp-sources.md). Should a host need it again,
`ZTP_VENDORS["yealink"]["legacy_tls"]` turns it on for this adapter's connections only; it
is off by default.
"""

from __future__ import annotations

import base64
import secrets
import ssl
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.core.exceptions import ImproperlyConfigured

from core.http import error_text
from ztp.adapters import (
    AccountRefused,
    CredentialsRejected,
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
from ztp.vendor_http import VendorHttp

LABEL = "Yealink YMCS"
DEFAULT_URL = "https://eu-api.ymcs.yealink.com"
URL_SETTING = "ZTP_YEALINK_API_URL"
KEY_HELP = (
    "A Super-Admin of the YMCS enterprise makes the key in YMCS → Enterprise Settings → "
    "API Service: one client ID and secret for the whole enterprise."
)
SERVER_NAME_MAX = 20
LIST_LIMIT = 100
# A list longer than this many pages is a broken server, not a big account.
MAX_PAGES = 200
# OpenSSL's SSL_OP_LEGACY_SERVER_CONNECT; Python's ssl names it from 3.12 on.
OP_LEGACY_SERVER_CONNECT = getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
CODE_NOT_ENABLED = "900403"
BY_MAC_NOT_ENABLED = (
    f"{LABEL} does not let this enterprise add devices by MAC: Yealink enables that per "
    "account, so ask Yealink support to enable adding devices by MAC (addDevicesByMac) for "
    "it."
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class YmcsAdapter(ZtpAdapter):
    vendor = Vendor.YEALINK
    label = LABEL
    key_help = KEY_HELP
    holds_url = True

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float,
        legacy_tls: bool = False,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        """`verify` is a TLS context to connect with (tests pass one trusting their own
        certificate); `legacy_tls` sets OpenSSL's legacy server connect option on it, or
        on a default context."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.legacy_tls = legacy_tls
        self.verify: ssl.SSLContext | bool = tls_context(legacy=legacy_tls, context=verify)
        # Access tokens by key for this adapter's lifetime (one action): an import
        # registers many phones with one token.
        self._clients: dict[tuple[str, str], VendorHttp] = {}

    @classmethod
    def from_settings(cls) -> YmcsAdapter:
        config = vendor_settings(Vendor.YEALINK)
        return cls(
            base_url=config.get("url") or DEFAULT_URL,
            timeout=timeout(),
            legacy_tls=_setting_bool(config.get("legacy_tls", False)),
        )

    def __repr__(self) -> str:  # never show a secret
        return f"YmcsAdapter({self.base_url!r})"

    # --- the interface ----------------------------------------------------------------

    def connect(self, *, key_id: str, secret: str) -> VendorAccount:
        if not key_id or not secret:
            raise CredentialsRejected(
                f"{LABEL} needs both the client ID and the client secret. {KEY_HELP}"
            )
        # A fresh token is the proof: YMCS has no call that reads the key itself.
        self._client(key_id, secret, cached=False)
        return VendorAccount(company_id="", key_id=key_id, secret=secret, extra={})

    def check_credentials(self, account: VendorAccount) -> None:
        # A token is asked for anew: one held from earlier proves nothing now.
        self._client(account.key_id, account.secret, cached=False)

    def register_url(self, account: VendorAccount, *, name: str, url: str) -> VendorAccount:
        if not name or len(name) > SERVER_NAME_MAX:
            # Refused rather than cut: a cut name could be another customer's.
            raise VendorRejected(
                f"{LABEL} server names are 1 to {SERVER_NAME_MAX} characters long; "
                f"{name!r} has {len(name)}."
            )
        client = self._client(account.key_id, account.secret)
        servers = self._list(client, "v2/rps/listServers", {})
        # Ours by the id kept from last time, else by its name (kept by nobody yet, or a
        # server made by a call whose answer was lost).
        stored = account.extra.get("server")
        found = next((s for s in servers if stored and _id(s) == stored), None)
        if found is None:
            found = next((s for s in servers if s.get("serverName") == name and _id(s)), None)
            if found is not None and not _our_phone_files(str(found.get("url") or ""), url):
                # Made by hand, or by another installation on the same enterprise: not ours
                # to repoint.
                raise VendorRejected(
                    f"{LABEL} has an RPS server named {name} that points elsewhere: rename or "
                    "remove it in YMCS, then try again."
                )
        body = {"serverName": name, "url": url}
        if found is not None:
            server = _id(found)
            # YMCS wants the name with the URL on every update (400 without).
            client.request("PATCH", f"v2/rps/servers/{quote(server, safe='')}", json=body)
        else:
            server = str(self._object(client, "POST", "v2/rps/servers", body, needs=("id",))["id"])
        return replace(account, extra={**account.extra, "server": server})

    def registered_url(self, account: VendorAccount) -> str | None:
        server = self._server(account)
        if server is None:
            return None
        url = server.get("url")
        return url if isinstance(url, str) and url else None

    def register(self, account: VendorAccount, *, mac: str, url: str) -> None:
        # `url` is the interface's; the RPS server made by register_url holds it.
        server = account.extra.get("server")
        if not server:
            raise VendorRejected(
                f"{LABEL} has no RPS server of ours for this customer yet: register the URL first."
            )
        client = self._client(account.key_id, account.secret)
        path = "v2/rps/addDevicesByMac"
        response = client.request(
            "POST", path, json=[{"mac": mac_for_vendor(mac), "serverId": server}], ok=(403,)
        )
        if response.status_code == 403:
            raise _forbidden(response, f"POST /{path}")
        data = self._answer(client, response, "POST", path)
        errors, failures = data.get("errors") or [], data.get("failureCount", 0)
        if not isinstance(errors, list) or not _count(failures):
            raise client.malformed("POST", path, "errors or failureCount is not as documented")
        if not errors and not failures:
            if data.get("successCount") == 0:
                raise VendorRejected(
                    f"{LABEL} did not register {_mac_text(mac)} and gave no reason."
                )
            return
        error = errors[0] if errors and isinstance(errors[0], dict) else {}
        info = str(error.get("errorInfo") or "").strip()
        if not info:
            raise VendorRejected(f"{LABEL} did not register {_mac_text(mac)} and gave no reason.")
        reason = _reason(info)
        if reason == "exists":
            # In this enterprise already. Ours, or on no server: pointed at our server
            # again. On another server it is another customer's (one enterprise may serve
            # several of ours): never moved, and nobody named.
            found = self._device(client, mac)
            if found is None:
                raise VendorRejected(
                    f"{LABEL} says {_mac_text(mac)} is already added but lists no such device."
                )
            if str(found.get("serverId") or "") not in {"", server}:
                raise MacTaken(
                    f"{_mac_text(mac)} is registered to another {LABEL} server of the enterprise."
                )
            client.request(
                "PATCH",
                f"v2/rps/devices/{quote(_id(found), safe='')}",
                json={"serverId": server},
            )
            return
        if reason == "taken":
            raise MacTaken(
                f"{_mac_text(mac)} is registered to another {LABEL} enterprise ({info})."
            )
        if reason == "invalid":
            raise InvalidMac(f"{LABEL} does not accept {_mac_text(mac)} as a MAC ({info}).")
        raise VendorRejected(f"{LABEL} did not register {_mac_text(mac)}: {info}.")

    def unregister(
        self, account: VendorAccount, *, mac: str, listed: set[str] | None = None
    ) -> None:
        client = self._client(account.key_id, account.secret)
        if mac not in (listed if listed is not None else self._listed(account, client, mac)):
            return  # not on our server: gone already, or someone else's
        body = {"deviceIdType": "mac", "deviceIds": [mac_for_vendor(mac)]}
        data = self._object(client, "POST", "v2/rps/delDevices", body)
        failures = data.get("failureCount", 0)
        if not _count(failures):
            raise client.malformed("POST", "v2/rps/delDevices", "failureCount is not a number")
        if failures:
            raise VendorRejected(
                f"{LABEL} did not remove {_mac_text(mac)}: {_op_errors(data.get('errors'))}."
            )

    def _listed(self, account: VendorAccount, client: VendorHttp, mac: str) -> set[str]:
        return {mac} if self._ours(account, self._device(client, mac)) else set()

    def _ours(self, account: VendorAccount, device: dict[str, Any] | None) -> bool:
        """Whether a listed device is on the customer's RPS server: the enterprise's key
        sees the phones of every customer of ours on it."""
        server = account.extra.get("server")
        return device is not None and bool(server) and str(device.get("serverId") or "") == server

    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None:
        client = self._client(account.key_id, account.secret)
        found = self._device(client, mac)
        if not self._ours(account, found):
            return None  # not this customer's (another's on the enterprise is not shown)
        url = found.get("uniqueServerUrl") or found.get("serverUrl") or ""
        if not isinstance(url, str):
            raise client.malformed("POST", "v2/rps/listDevices", "the device's URL is not text")
        return Registration(mac=mac, url=url)

    def phones(self, account: VendorAccount) -> set[str]:
        client = self._client(account.key_id, account.secret)
        devices = self._list(client, "v2/rps/listDevices", {})
        macs = (mac_from_vendor(d.get("mac")) for d in devices if self._ours(account, d))
        return {mac for mac in macs if mac}

    def release(self, account: VendorAccount) -> None:
        server = self._server(account)
        if server is None:
            return  # gone already, or never made
        client = self._client(account.key_id, account.secret)
        path = "v2/rps/delServers"
        response = client.request("POST", path, json={"serverIds": [_id(server)]})
        # The answer's shape is not shown by any source: a bulk result is read if there
        # is one, like delDevices'.
        data = self._answer(client, response, "POST", path, empty_ok=True)
        failures = data.get("failureCount", 0)
        if _count(failures) and failures:
            raise VendorRejected(
                f"{LABEL} did not remove our RPS server: {_op_errors(data.get('errors'))}."
            )

    # --- plumbing ---------------------------------------------------------------------

    def _client(self, key_id: str, secret: str, *, cached: bool = True) -> VendorHttp:
        """A client holding an access token for this key (one token call per adapter,
        unless `cached` is False)."""
        if cached and (key_id, secret) in self._clients:
            return self._clients[key_id, secret]
        basic = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
        token_http = self._http(f"Basic {basic}")
        path = "v2/token"
        # Asking for a token changes nothing: it is retried like a read.
        response = token_http.request(
            "POST", path, json={"grant_type": "client_credentials"}, idempotent=True
        )
        data = self._answer(token_http, response, "POST", path)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise token_http.malformed("POST", path, "no access_token")
        client = self._http(f"Bearer {token}")
        self._clients[key_id, secret] = client
        return client

    def _http(self, authorization: str) -> VendorHttp:
        return VendorHttp(
            label=LABEL,
            base_url=self.base_url,
            signer=lambda *_a: {"Authorization": authorization, **_replay_headers()},
            timeout=self.timeout,
            url_setting=URL_SETTING,
            verify=self.verify,
        )

    def _answer(
        self,
        client: VendorHttp,
        response: httpx.Response,
        method: str,
        path: str,
        *,
        empty_ok: bool = False,
    ) -> dict[str, Any]:
        if empty_ok and not response.content:
            return {}
        data = client.json(response, method, path)
        if not isinstance(data, dict):
            raise client.malformed(method, path, "expected an object")
        return data

    def _object(
        self, client: VendorHttp, method: str, path: str, body: Any, *, needs=(), read=False
    ) -> dict[str, Any]:
        response = client.request(method, path, json=body, idempotent=read)
        data = self._answer(client, response, method, path)
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
            page = [] if page is None else page  # as every client reads it: data ?? []
            if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                raise client.malformed("POST", path, "data is not a list of objects")
            if not _count(total):
                raise client.malformed("POST", path, "total is not a number")
            items.extend(page)
            if not page or len(items) >= total:
                return items
        raise client.malformed("POST", path, f"more than {MAX_PAGES} pages")

    def _server(self, account: VendorAccount) -> dict[str, Any] | None:
        """Our RPS server (extra["server"]) as YMCS lists it, or None if it is gone."""
        stored = account.extra.get("server")
        if not stored:
            return None
        client = self._client(account.key_id, account.secret)
        return next(
            (s for s in self._list(client, "v2/rps/listServers", {}) if _id(s) == stored), None
        )

    def _device(self, client: VendorHttp, mac: str) -> dict[str, Any] | None:
        # The MAC filter is fuzzy (a part matches): the exact MAC is picked out here.
        wanted = mac_from_vendor(mac)
        for device in self._list(client, "v2/rps/listDevices", {"mac": mac_for_vendor(mac)}):
            if mac_from_vendor(device.get("mac")) == wanted and _id(device):
                return device
        return None


def _our_phone_files(found: str, url: str) -> bool:
    """Whether a server's URL is a phone file URL of the server `url` is on."""
    ours, theirs = urlsplit(url), urlsplit(found)
    return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc) and theirs.path.startswith(
        "/phones/"
    )


def tls_context(*, legacy: bool, context: ssl.SSLContext | None = None) -> ssl.SSLContext | bool:
    """What httpx verifies with: True (its defaults) unless a context is given or the
    legacy server connect option is wanted, which is set on `context` (or a default one)."""
    if context is None and not legacy:
        return True
    context = context or ssl.create_default_context()
    if legacy:
        context.options |= OP_LEGACY_SERVER_CONNECT
    return context


def _setting_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ImproperlyConfigured(
        f'ZTP_VENDORS["yealink"]["legacy_tls"]: expected true or false, got {value!r}'
    )


def _forbidden(response: httpx.Response, where: str) -> VendorRejected:
    """A 403 to addDevicesByMac: adding by MAC not enabled (900403), else the key."""
    try:
        code = str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        code = ""
    if code == CODE_NOT_ENABLED:
        return AccountRefused(BY_MAC_NOT_ENABLED, status=403)
    detail = error_text(response)
    message = f"{LABEL} answered 403 to {where}" + (f": {detail}" if detail else "")
    return CredentialsRejected(message, status=403)


def _reason(info: str) -> str:
    """What a device's errorInfo means, matched as falconieri's ParseProviderError does."""
    text = info.lower()
    if info == "800003" or "already exists" in text:
        return "exists"
    if info == "800004" or "already managed" in text or "another" in text:
        return "taken"
    if info == "800001" or "device.mac.invalid" in text or "invalid mac" in text:
        return "invalid"
    return ""


def _op_errors(errors: Any) -> str:
    """delDevices' and delServers' errors, [{"field", "msg"}], as text."""
    if not isinstance(errors, list) or not errors:
        return "no reason given"
    parts = [
        " ".join(str(e.get(k)) for k in ("field", "msg") if e.get(k)) if isinstance(e, dict) else ""
        for e in errors
    ]
    return "; ".join(p for p in parts if p) or "no reason given"


def _id(item: dict[str, Any]) -> str:
    value = item.get("id")
    return str(value) if value not in (None, "") else ""


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _replay_headers() -> dict[str, str]:
    return {"timestamp": str(int(time.time() * 1000)), "nonce": secrets.token_hex(16)}


def _mac_text(mac: str) -> str:
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2)) if len(mac) == 12 else mac
