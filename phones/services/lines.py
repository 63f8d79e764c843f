"""A desk phone's lines (SIP accounts): set and delete, the password encrypted at rest."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from core import crypto
from devices.models import Device
from phones.models import PhoneBinding, PhoneLine
from reports.models import EventType
from reports.services import event_log

_TEXT = re.compile(r"[^\x00-\x1f\x7f]*")
_USER = re.compile(r"[A-Za-z0-9._+*#-]{1,64}")


def _problems(*, position, extension, display_name, auth_user, password) -> dict[str, str]:
    errors = {}
    if type(position) is not int or not 1 <= position <= 12:
        errors["position"] = "a whole number from 1 to 12"
    if not isinstance(extension, str) or not _USER.fullmatch(extension):
        errors["extension"] = "1 to 64 letters, digits or . _ + * # -"
    if not isinstance(auth_user, str) or (auth_user and not _USER.fullmatch(auth_user)):
        errors["authUser"] = "up to 64 letters, digits or . _ + * # - (empty: the extension)"
    if not isinstance(display_name, str) or len(display_name) > 64:
        errors["displayName"] = "at most 64 characters"
    elif not _TEXT.fullmatch(display_name) or display_name != display_name.strip():
        errors["displayName"] = "printable characters, no spaces at either end"
    if password is not None and (
        not isinstance(password, str)
        or len(password) > 128
        or not _TEXT.fullmatch(password)
        or password != password.strip()
    ):
        errors["password"] = "at most 128 printable characters, no spaces at either end"
    return errors


def phone_line_set(
    *,
    device: Device,
    user: User | None,
    position: int,
    extension: str,
    display_name: str = "",
    auth_user: str = "",
    password: str | None = None,
) -> PhoneLine:
    """Create or change the phone's line at `position`. `password` None keeps the stored
    one; "" clears it. The password is never logged or written to an Event."""
    errors = _problems(
        position=position,
        extension=extension,
        display_name=display_name,
        auth_user=auth_user,
        password=password,
    )
    if errors:
        raise ValidationError(errors)
    values = {"extension": extension, "display_name": display_name, "auth_user": auth_user}
    if password is not None:
        values["password_sealed"] = crypto.seal({"password": password}) if password else ""
    with transaction.atomic():
        line, _ = PhoneLine.objects.update_or_create(
            customer_id=device.customer_id, device=device, position=position, defaults=values
        )
        event_log(
            customer=device.customer,
            user=user,
            type=EventType.PHONE_LINE_SET,
            info=f"Line {position} of {device.device_id} set to {extension}",
            data={"device": device.device_id, "position": position, "extension": extension},
        )
    return line


def phone_line_delete(*, line: PhoneLine, user: User | None) -> None:
    with transaction.atomic():
        line.delete()
        event_log(
            customer=line.device.customer,
            user=user,
            type=EventType.PHONE_LINE_DELETED,
            info=f"Line {line.position} of {line.device.device_id} deleted",
        )


def phone_binding_release(*, device: Device, user: User | None) -> bool:
    """Forget what the phone was when it first fetched its file: its next fetch binds
    it again (a phone replaced, or moved to another office)."""
    with transaction.atomic():
        deleted, _ = PhoneBinding.objects.filter(device=device).delete()
        if deleted:
            event_log(
                customer=device.customer,
                user=user,
                type=EventType.PHONE_BINDING_RELEASED,
                info=f"{device.device_id} may bind again on its next file fetch",
            )
    return bool(deleted)
