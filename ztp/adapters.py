"""The interface every vendor's redirection service is driven through, and the choice by vendor.

A vendor adapter knows the vendor's API and nothing of our database. It works with the
customer's own API key at the vendor: the vendors make API keys only in their own web
front ends (docs/ztp-sources.md), so a Super-Admin makes one there and enters it on the
ZTP card; it is checked with a real call before it is kept (encrypted, by ztp.services).

The operations (all raise `VendorError` subclasses, never anything else on a vendor failure):

    connect(key_id, secret)        the key is accepted: the account it opens (company and
                                    what later calls need) -> VendorAccount
    check_credentials(account)     the stored key is still accepted, for the same company
    register_url(account, name, url)
                                    hold `url` (our phone file URL in the vendor's terms)
                                    for the customer's phones, where the vendor keeps one
                                    (YMCS: an RPS server named `name`); -> VendorAccount
    registered_url(account)        the URL the vendor holds for the customer's phones, or
                                    None if ours is gone; only where `holds_url`
    register(account, mac, url)    point one phone at `url`
    unregister(account, mac, listed=None)
                                    remove one phone; a phone the vendor no longer lists is
                                    gone already (a read first, never a guess from a 404;
                                    `listed`, the phones() just read, spares it)
    lookup(account, mac)           where the vendor sends the phone, or None
    phones(account)                the MACs the vendor lists for the account
    release(account)               remove what register_url made (Disable); the key itself
                                    can only be deleted in the vendor's front end

`holds_url` is False where the URL is set on each phone (SRAPS and GRAPE put it in each
endpoint's `settings_manager`): there a new URL is registered again phone by phone.

Failures are sorted like the other adapters' (devices.ptt, licensing.backend):
`VendorUnavailable` (network error, timeout, 5xx, 429, a malformed answer) is worth retrying
later; `VendorRejected` (any other refusal) will fail the same way again until something is
fixed, and its subclasses name the usual causes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from ztp.models import Vendor

# Every vendor call: one phase (connect, send, each read) may take this long (settings
# ZTP_TIMEOUT overrides it), and idempotent reads are tried once more.
DEFAULT_TIMEOUT = 10.0
READ_ATTEMPTS = 2
MAC_PLACEHOLDER = "{mac}"


@dataclass(frozen=True)
class VendorAccount:
    """A customer's side at the vendor and the key that opens it. `extra` holds what the
    adapter needs later (e.g. the company's endpoints URL, the RPS server it made)."""

    company_id: str
    key_id: str
    secret: str = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """Where the vendor sends a phone ("" when the vendor's answer does not say)."""

    mac: str
    url: str
    company_id: str = ""


class VendorError(Exception):
    """The vendor could not do what was asked. `status` is its HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VendorUnavailable(VendorError):
    """Network error, timeout, 5xx, 429 or a malformed answer: worth retrying later."""


class VendorRejected(VendorError):
    """The vendor refused the request: retrying will not help until something is fixed."""


class CredentialsRejected(VendorRejected):
    """The vendor does not accept the key (401/403)."""


class AccountRefused(VendorRejected):
    """The vendor refuses every phone of this account until something is set up at the
    vendor (a feature to enable, a Role for the key): an import stops at it."""


class MacTaken(VendorRejected):
    """The MAC belongs to another account at the vendor."""


class InvalidMac(VendorRejected):
    """Not a MAC address the vendor accepts."""


class ZtpAdapter(ABC):
    vendor: str
    label: str
    # Where the customer makes the API key, for the card and the messages.
    key_help: str = ""
    holds_url: bool = True

    @abstractmethod
    def connect(self, *, key_id: str, secret: str) -> VendorAccount: ...

    @abstractmethod
    def check_credentials(self, account: VendorAccount) -> None: ...

    @abstractmethod
    def register_url(self, account: VendorAccount, *, name: str, url: str) -> VendorAccount: ...

    def registered_url(self, account: VendorAccount) -> str | None:
        raise NotImplementedError(f"{self.label} keeps the URL on each phone")

    @abstractmethod
    def register(self, account: VendorAccount, *, mac: str, url: str) -> None: ...

    @abstractmethod
    def unregister(
        self, account: VendorAccount, *, mac: str, listed: set[str] | None = None
    ) -> None: ...

    @abstractmethod
    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None: ...

    @abstractmethod
    def phones(self, account: VendorAccount) -> set[str]:
        """The MACs the vendor lists for the account, as 12 upper-case hex digits."""

    @abstractmethod
    def release(self, account: VendorAccount) -> None:
        """Remove what register_url made at the vendor (Disable)."""


def vendor_settings(vendor: str) -> dict[str, str]:
    """The vendor's block of settings.ZTP_VENDORS (its API's address)."""
    return dict(getattr(settings, "ZTP_VENDORS", {}).get(vendor, {}))


def timeout() -> float:
    return float(getattr(settings, "ZTP_TIMEOUT", DEFAULT_TIMEOUT))


def adapter_for(vendor: str) -> ZtpAdapter:
    """The adapter configured for `vendor` (a Vendor value)."""
    # Imported here: each adapter module imports this one for the interface.
    if vendor == Vendor.SNOM:
        from ztp.sraps import SrapsAdapter

        return SrapsAdapter.from_settings()
    if vendor == Vendor.GIGASET:
        from ztp.sraps import GrapeAdapter

        return GrapeAdapter.from_settings()
    if vendor == Vendor.YEALINK:
        from ztp.ymcs import YmcsAdapter

        return YmcsAdapter.from_settings()
    raise ValueError(f"unknown vendor {vendor!r}")


def mac_for_vendor(mac: str) -> str:
    """0004132A3B4C -> 0004132a3b4c: how the vendors' APIs spell a MAC in paths and bodies."""
    return mac.lower()


def mac_from_vendor(value: Any) -> str | None:
    """A MAC as a vendor lists it (either case, with or without separators) -> 0004132A3B4C,
    or None if it is not one."""
    if not isinstance(value, str):
        return None
    bare = value.replace(":", "").replace("-", "").replace(".", "").upper()
    return bare if len(bare) == 12 and all(c in "0123456789ABCDEF" for c in bare) else None
