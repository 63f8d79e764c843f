"""Devices: device IDs, versions, obsoleting, merging and direct add (site provisioning
is in devices.sites). Views, the API, tasks and commands call these."""

from __future__ import annotations

import re

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core.errors import AlreadyExists, Missing, version_check
from devices.models import Device, DeviceKind, DeviceState
from reports.models import AppId, Event, EventType
from reports.services import event_log


def parse_version(text: str) -> tuple[int, ...] | None:
    """ "3.3.10197" → (3, 3, 10197); None when it is not a dotted number."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)*)\s*", text or "")
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


# --- Device IDs ------------------------------------------------------------------------
# The guide's "Device IDs" table: every ID is a model, "_" and an identifier. Vendor
# (Zebra) devices: model + "_" + serial, or, with Zebra Voice 9.0.22405+ on Android 13+
# and no serial, model + "_ZAI" + Android ID. iOS: model + "_" + iOS ID. Third-party
# Android: model + "_" + serial (before Android 10) or Android ID (PTT Pro 3.3.10197+),
# and with Zebra Voice 9.0.22308+ model without spaces + "_TAI" + Android ID. A device
# reports its ID whole, so these rules tell its kind and check IDs typed by people.

THIRD_PARTY_MARKER = "TAI"
VENDOR_ANDROID_ID_MARKER = "ZAI"


def device_kind_guess(*, device_id: str, app_id: str) -> str:
    """The kind of a device that redeems a token, read from its ID and app: iOS by its
    app, third-party Android by the _TAI marker, otherwise a vendor device (a
    third-party device's serial or Android ID cannot be told from a vendor serial)."""
    if app_id == AppId.PTT_PRO_IOS:
        return DeviceKind.IOS
    if device_id.rpartition("_")[2].startswith(THIRD_PARTY_MARKER):
        return DeviceKind.THIRD_PARTY_ANDROID
    return DeviceKind.VENDOR


def device_id_problem(*, kind: str, device_id: str) -> str | None:
    """Why a device of `kind` cannot report `device_id`, or None. Direct add checks the
    IDs people type with it."""
    if not device_id or len(device_id) > 128:
        return "1 to 128 characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in device_id):
        return "control characters are not allowed"
    if kind == DeviceKind.DESK_PHONE:
        if mac_normalize(device_id) != device_id:
            return "a desk phone's ID is its MAC address: 12 hex digits, e.g. 0090331A2B3C"
        return None
    model, _, identifier = device_id.rpartition("_")
    if not model.strip() or not identifier:
        return "the model, an underscore and the serial or ID, e.g. TC52_18304522512397"
    if any(c.isspace() for c in identifier):
        return "no spaces after the model"
    marker = identifier[:3]
    if marker == THIRD_PARTY_MARKER and kind != DeviceKind.THIRD_PARTY_ANDROID:
        return "an ID with _TAI belongs to a third-party Android device"
    if marker == VENDOR_ANDROID_ID_MARKER and kind != DeviceKind.VENDOR:
        return "an ID with _ZAI belongs to a vendor device"
    if any(c.isspace() for c in model) and (
        kind != DeviceKind.THIRD_PARTY_ANDROID or marker == THIRD_PARTY_MARKER
    ):
        return "no spaces: only third-party Android models keep theirs (not in _TAI IDs)"
    return None


_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[:-]?[0-9A-Fa-f]{2}){5}")


def mac_normalize(text: str) -> str | None:
    """A MAC address as desk phones' device IDs spell it (0090331A2B3C), from any of the
    usual spellings (00:90:33:1a:2b:3c, 00-90-33-1A-2B-3C, 0090331a2b3c); None if it is
    not one."""
    text = (text or "").strip()
    if not _MAC.fullmatch(text):
        return None
    return re.sub("[:-]", "", text).upper()


def mac_display(device_id: str) -> str:
    """0090331A2B3C → 00:90:33:1A:2B:3C."""
    return ":".join(device_id[i : i + 2] for i in range(0, 12, 2))


# --- Obsolete and direct add -----------------------------------------------------------


def device_mark_obsolete(*, device: Device, user: User | None) -> None:
    """Mark a locked device obsolete, with an Event. The whole flow (its licenses given
    back, with an Event of their own) is gateway.services.devices.device_obsolete."""
    if device.state == DeviceState.OBSOLETE:
        return
    device.state = DeviceState.OBSOLETE
    device.save(update_fields=["state", "updated"])
    event_log(
        customer=device.customer,
        user=user,
        type=EventType.DEVICE_OBSOLETED,
        info=f"Device {device.device_id} marked obsolete",
    )


@transaction.atomic
def device_merge(
    *,
    customer: Customer,
    user: User | None,
    kind: str,
    device_id: str,
    password: str | None = None,
    phone_number: str | None = None,
    version: int | None = None,
) -> tuple[Device, bool]:
    """Add a device directly (no `version`), or update it when `version` is its current
    version. Returns (device, created). Additions count toward the monthly billing."""
    errors = {}
    if kind not in DeviceKind.values:
        errors["kind"] = f"must be one of {', '.join(DeviceKind.values)}"
    else:
        problem = device_id_problem(kind=kind, device_id=device_id)
        if problem:
            errors["id"] = problem
    if phone_number and not re.fullmatch(r"\+?[0-9 ()-]{3,32}", phone_number):
        errors["phoneNumber"] = "digits, spaces, dashes and brackets, optionally after +"
    if password is not None and len(password) > 128:
        errors["password"] = "at most 128 characters"
    if errors:
        raise ValidationError(errors)
    current = (
        Device.objects.for_customer(customer)
        .select_for_update()
        .filter(device_id=device_id)
        .first()
    )
    if version is None:
        if current is not None:
            raise AlreadyExists(f"id: device {device_id} already exists")
        device = Device(
            customer=customer,
            device_id=device_id,
            kind=kind,
            added_directly=True,
            phone_number=phone_number or "",
            password=make_password(password) if password else "",
        )
        try:
            with transaction.atomic():
                device.save()
        except IntegrityError:
            # Added by a concurrent request between our check and this insert.
            raise AlreadyExists(f"id: device {device_id} already exists") from None
        event_log(
            customer=customer,
            user=user,
            type=EventType.DEVICE_ADDED_DIRECTLY,
            info=f"Device {device_id} added directly",
            data={"kind": kind},
        )
        return device, True
    if current is None:
        raise Missing(f"id: no device {device_id}")
    version_check(kind="device", expected=version, current=current.version, field="v")
    current.kind = kind
    if phone_number is not None:
        current.phone_number = phone_number
    if password is not None:
        current.password = make_password(password) if password else ""
    current.version += 1
    current.save()
    event_log(
        customer=customer,
        user=user,
        type=EventType.DEVICE_UPDATED,
        info=f"Device {device_id} updated directly",
        data={"kind": kind, "version": current.version},
    )
    return current, False


def direct_additions_this_month(*, customer: Customer) -> int:
    """Devices added directly this calendar month, counting ones removed since (billing)."""
    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        Event.objects.for_customer(customer)
        .filter(type=EventType.DEVICE_ADDED_DIRECTLY, created__gte=start)
        .count()
    )
