"""The secret in a customer's phone file URL, and the URLs a phone is given.

A phone sends nothing but a URL, so the URL is the credential: `/phones/<secret>/…` with a
secret per customer, 128 bits drawn from `SECRET_KEY` and a random salt of the customer's
`FileSecret` row. Only the salt and the SHA-256 of the secret are stored: a copy of the
database alone does not give the URL. Rotating makes a new secret and keeps the old one
working for `GRACE`, so phones already given it fetch once more, get the new URL in their
file (each vendor's provisioning-server setting) and move over."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import AlreadyExists
from phones.files.vendors import GIGASET, SNOM, YEALINK, Vendor
from phones.models import FileSecret
from reports.models import EventType
from reports.services import event_log

GRACE = timedelta(days=30)
FILES_PATH = "/phones/"


def _derive(salt: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"phone-files:{salt}".encode(), hashlib.sha256).hexdigest()[:32]


def secret_lookup(secret: str) -> str:
    """What the database keeps of a secret, to find it by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_row(customer: Customer) -> tuple[FileSecret, str]:
    salt = secrets.token_hex(16)
    secret = _derive(salt)
    row = FileSecret.objects.create(customer=customer, salt=salt, lookup=secret_lookup(secret))
    return row, secret


def file_secret(customer: Customer) -> str:
    """The customer's current secret, made on first use. If `SECRET_KEY` was changed the
    stored one can no longer be drawn again: it is rotated, so the phones that hold it
    keep working for the grace period."""
    row = FileSecret.objects.for_customer(customer).filter(retires_at__isnull=True).first()
    if row is None:
        try:
            with transaction.atomic():
                return _new_row(customer)[1]
        except IntegrityError:  # another request made it first
            row = FileSecret.objects.for_customer(customer).get(retires_at__isnull=True)
    return secret_drawn(row.salt, row.lookup) or file_secret_rotate(customer=customer, user=None)


def secret_drawn(salt: str, lookup: str) -> str | None:
    """The secret of a FileSecret row's salt, or None if it no longer gives the stored
    lookup (`SECRET_KEY` was changed)."""
    secret = _derive(salt)
    return secret if hmac.compare_digest(secret_lookup(secret), lookup) else None


def file_secret_rotate(*, customer: Customer, user: User | None) -> str:
    """A new secret for the customer's phone file URL; the old one keeps working for
    GRACE. Returns the new secret."""
    now = timezone.now()
    try:
        with transaction.atomic():
            FileSecret.objects.for_customer(customer).filter(retires_at__isnull=True).update(
                retires_at=now + GRACE
            )
            _row, secret = _new_row(customer)
            event_log(
                customer=customer,
                user=user,
                type=EventType.PHONE_FILE_SECRET_ROTATED,
                info=(
                    "Phone file URL changed; the previous one keeps working until "
                    f"{(now + GRACE):%Y-%m-%d}"
                ),
            )
    except IntegrityError:
        # Another rotation made its new secret meanwhile (one current secret per customer).
        raise AlreadyExists("The phone file URL was just changed by someone else.") from None
    return secret


def files_base_url(*, customer: Customer, base_url: str) -> str:
    """The customer's phone file URL: every vendor's files are below it."""
    return files_url(base_url, file_secret(customer))


def files_url(base_url: str, secret: str) -> str:
    """The phone file URL of a secret."""
    return f"{base_url.rstrip('/')}{FILES_PATH}{secret}/"


def vendor_url(vendor: Vendor, *, customer: Customer, base_url: str) -> str:
    """What to set as the phone's provisioning server (vendor_server_url)."""
    return vendor_server_url(vendor, files_base_url(customer=customer, base_url=base_url))


def vendor_server_url(vendor: Vendor, base: str) -> str:
    """What to set as the phone's provisioning server, in the vendor's own terms, below the
    phone file URL `base`: Snom's `setting_server` ({mac} is replaced by the phone),
    Yealink's `static.auto_provision.server.url` (a folder the phone asks its files
    from), Gigaset's provisioning URL (%MACD is replaced by the phone)."""
    base = base + vendor.key + "/"
    if vendor is SNOM:
        return base + "{mac}.xml"
    if vendor is GIGASET:
        return base + "%MACD.xml"
    assert vendor is YEALINK
    return base


_SECRET_IN_URL = re.compile(r"/phones/[^/\s\"'<>]+/")


def secret_masked(text: str) -> str:
    """`text` with the secret of every phone file URL in it hidden: what a page or a
    printout may show."""
    return _SECRET_IN_URL.sub("/phones/…/", text)
