"""The interface every vendor's redirection service is driven through, and the choice by vendor.

A vendor adapter knows the vendor's API and nothing of our database. It works with two
kinds of credentials:

- the operator's **reseller** credentials (settings `ZTP_<VENDOR>_…`, never the database),
  which create and manage the customers' child companies and their credentials;
- a customer's own credentials (`VendorAccount`), made at onboarding, kept encrypted by
  ztp.services, which register, look up and unregister that customer's phones.

The operations (all raise `VendorError` subclasses, never anything else on a vendor failure):

    check_credentials(account)     the account's credentials (or, with None, the reseller's)
                                    are accepted
    onboard(reference, name, url)  find or create the child company for `reference`, make
                                    credentials for it and register `url` (our provisioning
                                    URL, with a {mac} placeholder) -> VendorAccount
    rotate(account)                new credentials for the same company; the old ones are
                                    revoked only once the new ones work -> VendorAccount
    disable(account)               revoke the account's credentials at the vendor
    register(account, mac, url)    point one phone at `url`
    unregister(account, mac)       remove one phone (already gone is fine)
    lookup(account, mac)           where the vendor sends the phone, or None
    registered_url(account)        the URL the vendor holds for the customer's phones, or
                                    None if ours is gone (the daily drift check)
    register_url(account, reference, url)
                                    put `url` there again (Repair)

Failures are sorted like the other adapters' (devices.ptt, licensing.backend):
`VendorUnavailable` (network error, timeout, 5xx, 429, a malformed answer) is worth retrying
later; `VendorRejected` (any other refusal) will fail the same way again until something is
fixed, and its subclasses name the usual causes.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from ztp.models import Vendor

logger = logging.getLogger(__name__)

# Every vendor call: one phase (connect, send, each read) may take this long (settings
# ZTP_TIMEOUT overrides it), and idempotent reads are tried once more.
DEFAULT_TIMEOUT = 10.0
READ_ATTEMPTS = 2
MAC_PLACEHOLDER = "{mac}"


@dataclass(frozen=True)
class VendorAccount:
    """A customer's vendor-side company and its credentials. `extra` holds what the adapter
    needs later (e.g. the provisioning profile it registered the URL in)."""

    company_id: str
    key_id: str
    secret: str = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """Where the vendor sends a phone."""

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


class ResellerNotConfigured(VendorRejected):
    """The operator's reseller credentials for this vendor are not in the settings."""


class CredentialsRejected(VendorRejected):
    """The vendor does not accept the credentials (401/403)."""


class MacTaken(VendorRejected):
    """The MAC belongs to another account at the vendor."""


class InvalidMac(VendorRejected):
    """Not a MAC address the vendor accepts."""


class ZtpAdapter(ABC):
    vendor: str
    label: str
    # The settings holding the reseller's credentials, named in messages.
    reseller_variables: tuple[str, ...] = ()

    @abstractmethod
    def require_reseller(self) -> None:
        """ResellerNotConfigured unless the reseller's credentials are in the settings (no
        vendor call)."""

    @abstractmethod
    def check_credentials(self, account: VendorAccount | None) -> None: ...

    @abstractmethod
    def onboard(self, *, reference: str, name: str, url: str) -> VendorAccount: ...

    def rotate(self, account: VendorAccount) -> VendorAccount:
        """New credentials for the account's company. The old ones are revoked only once the
        new ones are accepted; if any call fails, the old ones are left working (and the new
        ones, which nobody will store, are revoked again)."""
        fresh = replace(self.new_key(account.company_id), extra=dict(account.extra))
        try:
            self.check_credentials(fresh)
        except VendorError:
            self.revoke_quietly(fresh)
            raise
        try:
            self.revoke_key(account)
        except VendorError as exc:
            # Did the revocation happen after all (an answer lost on its way back)? If the
            # old credentials still work they stay the ones in use, and the new ones go.
            try:
                self.check_credentials(account)
            except CredentialsRejected:
                return fresh  # the old ones are gone: the new ones are the only working ones
            except VendorError:
                pass
            self.revoke_quietly(fresh)
            raise exc
        return fresh

    def disable(self, account: VendorAccount) -> None:
        """Revoke the account's credentials at the vendor (already revoked is fine)."""
        self.revoke_key(account)

    @abstractmethod
    def new_key(self, company_id: str) -> VendorAccount:
        """Credentials for the company, made with the reseller's (`extra` empty)."""

    @abstractmethod
    def revoke_key(self, account: VendorAccount) -> None:
        """Revoke the account's credentials with the reseller's; already gone is fine."""

    def revoke_quietly(self, account: VendorAccount) -> None:
        """Clean up credentials nobody will use; a failure here must not hide the real one."""
        try:
            self.revoke_key(account)
        except VendorError as exc:
            logger.warning(
                "%s: unused credentials of company %s could not be revoked: %s",
                self.label,
                account.company_id,
                exc,
            )

    @abstractmethod
    def register(self, account: VendorAccount, *, mac: str, url: str) -> None: ...

    @abstractmethod
    def unregister(self, account: VendorAccount, *, mac: str) -> None: ...

    @abstractmethod
    def lookup(self, account: VendorAccount, *, mac: str) -> Registration | None: ...

    @abstractmethod
    def registered_url(self, account: VendorAccount) -> str | None: ...

    @abstractmethod
    def register_url(self, account: VendorAccount, *, reference: str, url: str) -> VendorAccount:
        """Register `url` again; the account, its `extra` updated."""


def vendor_settings(vendor: str) -> dict[str, str]:
    """The vendor's block of settings.ZTP_VENDORS (url and reseller credentials)."""
    return dict(getattr(settings, "ZTP_VENDORS", {}).get(vendor, {}))


def timeout() -> float:
    return float(getattr(settings, "ZTP_TIMEOUT", DEFAULT_TIMEOUT))


def adapter_for(vendor: str) -> ZtpAdapter:
    """The adapter configured for `vendor` (a Vendor value)."""
    # Imported here: each adapter module imports this one for the interface.
    if vendor == Vendor.SNOM:
        from ztp.sraps import SrapsAdapter

        return SrapsAdapter.from_settings()
    if vendor == Vendor.YEALINK:
        from ztp.ymcs import YmcsAdapter

        return YmcsAdapter.from_settings()
    raise ValueError(f"unknown vendor {vendor!r}")


def mac_for_vendor(mac: str) -> str:
    """0004132A3B4C -> 0004132a3b4c: how both vendors' APIs spell a MAC in paths and bodies."""
    return mac.lower()
