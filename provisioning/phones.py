"""Desk phones: categories, one-time provisioning codes, rollouts, update jobs and
automatic provisioning. The services of these flows; views, the APIs, tasks and commands
call them (the token and bootstrap flows are in provisioning.services).

A phone joins a customer and a category either by redeeming a code a person typed
(`code_redeem`) or by presenting the customer's automatic provisioning token
(`auto_register`). Either way it is answered with what its category gives it: the
category's bootstrap, the latest software job and the latest job of every config type.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Customer, User
from core import ratelimit
from core.errors import InUse, Missing, version_check
from core.jsontext import json_value_error
from devices.models import Device, DeviceKind, DeviceState
from devices.services import mac_display, mac_normalize
from provisioning import guessing
from provisioning.models import (
    CODE_DIGITS,
    AutoProvisioning,
    AutoProvisioningKey,
    Bootstrap,
    Category,
    ConfigJob,
    JobDelivery,
    ProvisioningCode,
    Rollout,
    SoftwareJob,
)
from provisioning.services import DeviceAnswer
from reports.models import AppId, EventType, HistoryAction, HistoryResult
from reports.services import event_log, history_record

# How long a code is valid: a person adding a phone types it at once; a rollout's codes
# are handed to many people, who need days.
CODE_LIFETIME = timedelta(minutes=10)
ROLLOUT_CODE_LIFETIME = timedelta(days=7)
DEFAULT_CATEGORY = "Phones"
ROLLOUT_MAX_USERS = 20_000
# A token people choose must be as hard to guess as the one we draw would be, near enough:
# long, varied, and about 100 bits by the characters it uses (token_urlsafe(24) has 192).
AUTO_TOKEN_MIN_LENGTH = 20
AUTO_TOKEN_MIN_DISTINCT = 10
AUTO_TOKEN_MIN_BITS = 100
DEVICE_PATH = "/device/api/v1/auto"


# --- Categories ------------------------------------------------------------------------


def category_snapshot(category: Category) -> dict[str, Any]:
    return {
        "name": category.name,
        "isProvisioning": category.is_provisioning,
        "bootstrap": category.bootstrap.name if category.bootstrap else None,
        "description": category.description,
        "version": category.version,
    }


@transaction.atomic
def category_save(
    *,
    customer: Customer,
    user: User | None,
    name: str,
    is_provisioning: bool = True,
    bootstrap: Bootstrap | None = None,
    description: str = "",
    instance: Category | None = None,
    expected_version: int | None = None,
) -> tuple[Category, bool]:
    """Add a category, or change `instance`. A rename carries its devices along."""
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = "a category needs a name"
    elif len(name) > 64 or any(ord(c) < 32 for c in name):
        errors["name"] = "at most 64 printable characters"
    if bootstrap is not None and bootstrap.customer_id != customer.pk:
        errors["bootstrap"] = "must be one of your bootstraps"
    if len(description or "") > 255:
        errors["description"] = "at most 255 characters"
    current = None
    if instance is not None:
        current = (
            Category.objects.for_customer(customer).select_for_update().filter(pk=instance.pk)
        ).first()
        if current is None:
            raise ValidationError({"name": "this category no longer exists"})
        version_check(kind="category", expected=expected_version, current=current.version)
    clash = Category.objects.for_customer(customer).filter(name=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if name and "name" not in errors and clash.exists():
        errors["name"] = f"a category named {name!r} already exists"
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name,
        "is_provisioning": is_provisioning,
        "bootstrap": bootstrap,
        "description": description or "",
    }
    try:
        with transaction.atomic():
            if current is None:
                category = Category.objects.create(customer=customer, **fields)
            else:
                before = category_snapshot(current)
                for key, value in fields.items():
                    setattr(current, key, value)
                current.version += 1
                current.save()
                category = current
    except IntegrityError:
        raise ValidationError({"name": f"a category named {name!r} already exists"}) from None
    if current is None:
        event_log(
            customer=customer,
            user=user,
            type=EventType.CATEGORY_ADDED,
            info=f"Category {name} added",
            data={"after": category_snapshot(category)},
        )
        return category, True
    if before["name"] != name:
        Device.objects.for_customer(customer).filter(category=before["name"]).update(category=name)
    event_log(
        customer=customer,
        user=user,
        type=EventType.CATEGORY_UPDATED,
        info=f"Category {before['name']} updated"
        + ("" if before["name"] == name else f" (now {name})"),
        data={"before": before, "after": category_snapshot(category)},
    )
    return category, False


@transaction.atomic
def category_delete(
    *, category: Category, user: User | None, expected_version: int | None = None
) -> None:
    """Delete a category no pending code uses; its jobs and past rollouts go with it."""
    current = Category.objects.select_for_update().filter(pk=category.pk).first()
    if current is None:
        return
    version_check(kind="category", expected=expected_version, current=current.version)
    pending = current.codes.filter(used_at__isnull=True, expires_at__gt=timezone.now()).count()
    if pending:
        raise InUse(
            f"Category {current.name} has {pending} pending code(s); let them expire first "
            "(rollout codes are valid 7 days)."
        )
    snapshot = category_snapshot(current)
    current.delete()
    event_log(
        customer=category.customer,
        user=user,
        type=EventType.CATEGORY_DELETED,
        info=f"Category {snapshot['name']} deleted",
        data={"before": snapshot},
    )


def default_provisioning_category(customer: Customer) -> Category | None:
    """The category a code gets when none is named: the customer's first provisioning
    category (every customer starts with one)."""
    return (
        Category.objects.for_customer(customer)
        .filter(is_provisioning=True)
        .order_by("created", "pk")
        .first()
    )


def provisioning_categories(customer: Customer):
    return Category.objects.for_customer(customer).filter(is_provisioning=True).order_by("name")


# --- Codes -----------------------------------------------------------------------------


def code_generate() -> str:
    """12 digits from the operating system's secure random source, with no structure."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _check_provisioning_category(customer: Customer, category: Category | None) -> Category:
    if category is None:
        raise ValidationError({"category": "this customer has no provisioning category; add one"})
    if category.customer_id != customer.pk:
        raise ValidationError({"category": "must be one of your categories"})
    if not category.is_provisioning:
        raise ValidationError({"category": f"{category.name} is not a provisioning category"})
    return category


def _codes_issued(customer: Customer, ip_address: str | None) -> None:
    guessing.network_learn(customer_id=customer.pk, ip_address=ip_address, now=timezone.now())
    # After the transaction: a try sized before the codes are visible would be sized anew.
    transaction.on_commit(guessing.codes_issued)


def provisioning_code_issue(
    *,
    customer: Customer,
    user: User | None,
    category: Category | None = None,
    for_user: User | None = None,
    rollout: bool = False,
    ip_address: str | None = None,
) -> ProvisioningCode:
    """A one-time code for one new phone, valid 10 minutes (7 days for a rollout). The
    issuer's address (`ip_address`) is a network the customer's phones are likely on."""
    category = _check_provisioning_category(
        customer, category or default_provisioning_category(customer)
    )
    if for_user is not None and for_user.customer_id != customer.pk:
        raise ValidationError({"user": "must be one of your portal users"})
    lifetime = ROLLOUT_CODE_LIFETIME if rollout else CODE_LIFETIME
    for _attempt in range(5):
        try:
            with transaction.atomic():
                code = ProvisioningCode.objects.create(
                    customer=customer,
                    category=category,
                    user=for_user,
                    code=code_generate(),
                    expires_at=timezone.now() + lifetime,
                )
        except IntegrityError:
            continue  # the same 12 digits are pending already (one chance in millions)
        _codes_issued(customer, ip_address)
        event_log(
            customer=customer,
            user=user,
            type=EventType.CODE_ISSUED,
            info=f"Provisioning code issued for category {category.name}"
            + (f" for {for_user.get_username()}" if for_user else ""),
            data={"category": category.name, "expiresAt": code.expires_at.isoformat()},
        )
        return code
    raise RuntimeError("could not draw a free provisioning code")


@transaction.atomic
def rollout_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category | None,
    users: list[User],
    app_id: str = "",
    ip_address: str | None = None,
) -> Rollout:
    """Codes for many portal users at once, valid 7 days: one INSERT per thousand codes.
    The issuer's address (`ip_address`) is a network the customer's phones are likely on."""
    category = _check_provisioning_category(customer, category)
    if not users:
        raise ValidationError({"users": "choose at least one portal user"})
    if len(users) > ROLLOUT_MAX_USERS:
        raise ValidationError({"users": f"at most {ROLLOUT_MAX_USERS:,} users per rollout"})
    if any(u.customer_id != customer.pk for u in users):
        raise ValidationError({"users": "must be your portal users"})
    if app_id and app_id not in AppId.values:
        raise ValidationError({"appId": f"must be one of {', '.join(AppId.values)}"})
    rollout = Rollout.objects.create(
        customer=customer, category=category, app_id=app_id, created_by=user
    )
    expires = timezone.now() + ROLLOUT_CODE_LIFETIME
    for _attempt in range(5):
        drawn: set[str] = set()
        while len(drawn) < len(users):
            drawn.add(code_generate())
        try:
            with transaction.atomic():
                ProvisioningCode.objects.bulk_create(
                    [
                        ProvisioningCode(
                            customer=customer,
                            category=category,
                            user=member,
                            rollout=rollout,
                            code=code,
                            expires_at=expires,
                        )
                        for member, code in zip(users, drawn, strict=True)
                    ],
                    batch_size=1000,
                )
            break
        except IntegrityError:
            continue  # a code clashed with a pending one elsewhere: draw them all again
    else:
        raise RuntimeError("could not draw free provisioning codes")
    _codes_issued(customer, ip_address)
    event_log(
        customer=customer,
        user=user,
        type=EventType.ROLLOUT_CREATED,
        info=f"Rollout of {len(users)} phone(s) for category {category.name}",
        data={"rollout": rollout.pk, "codes": len(users), "category": category.name},
    )
    return rollout


@transaction.atomic
def provisioning_code_revoke(*, code: ProvisioningCode, user: User | None) -> None:
    """Withdraw a code nobody has used yet. A used code stays: it records which phone it
    registered."""
    current = ProvisioningCode.objects.select_for_update().filter(pk=code.pk).first()
    if current is None:
        return
    if current.used_at is not None:
        raise InUse("This code has been used; it is kept as the record of the phone it added.")
    current.delete()
    event_log(
        customer=code.customer,
        user=user,
        type=EventType.CODE_REVOKED,
        info=f"Provisioning code for category {code.category.name} withdrawn",
        data={"category": code.category.name},
    )


def expired_codes_delete(*, now: datetime | None = None) -> int:
    """Delete the codes nobody used in time. One DELETE; safe to run twice at once."""
    now = now or timezone.now()
    deleted, _ = ProvisioningCode.objects.filter(used_at__isnull=True, expires_at__lte=now).delete()
    event_log(
        customer=None,
        user=None,
        type=EventType.CODES_EXPIRED,
        info=f"{deleted} expired provisioning code(s) deleted",
        data={"deleted": deleted},
    )
    return deleted


# --- Update jobs -----------------------------------------------------------------------


def _check_job(customer: Customer, category: Category | None, value: Any, field: str) -> None:
    errors = {}
    if category is None or category.customer_id != customer.pk:
        errors["category"] = "must be one of your categories"
    if not isinstance(value, dict):
        errors[field] = "must be a JSON object"
    else:
        problem = json_value_error(value)
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationError(errors)


def software_job_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category,
    firmware: dict,
    description: str = "",
) -> SoftwareJob:
    """A software update for the category's phones; the firmware description is kept as
    given, so later edits elsewhere never change what the job sends."""
    _check_job(customer, category, firmware, "firmware")
    if len(description) > 255:
        raise ValidationError({"description": "at most 255 characters"})
    job = SoftwareJob.objects.create(
        customer=customer,
        category=category,
        firmware=firmware,
        description=description,
        created_by=user,
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.SOFTWARE_JOB_ADDED,
        info=f"Software job for category {category.name} added",
        data={"job": job.pk, "firmware": firmware},
    )
    return job


def config_job_create(
    *,
    customer: Customer,
    user: User | None,
    category: Category,
    config_type: str,
    parameters: dict,
    description: str = "",
) -> ConfigJob:
    """A configuration change of one type for the category's phones."""
    _check_job(customer, category, parameters, "parameters")
    config_type = (config_type or "").strip()
    if not config_type or len(config_type) > 64 or any(ord(c) < 32 for c in config_type):
        raise ValidationError({"configType": "1 to 64 printable characters, e.g. ntp or language"})
    if len(description) > 255:
        raise ValidationError({"description": "at most 255 characters"})
    job = ConfigJob.objects.create(
        customer=customer,
        category=category,
        config_type=config_type,
        parameters=parameters,
        description=description,
        created_by=user,
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.CONFIG_JOB_ADDED,
        info=f"{config_type} job for category {category.name} added",
        data={"job": job.pk, "configType": config_type, "parameters": parameters},
    )
    return job


def job_delete(*, job: SoftwareJob | ConfigJob, user: User | None) -> None:
    kind = "Software" if isinstance(job, SoftwareJob) else f"{job.config_type}"
    pk = job.pk
    deleted, _ = type(job).objects.filter(pk=pk).delete()
    if deleted:
        event_log(
            customer=job.customer,
            user=user,
            type=EventType.JOB_DELETED,
            info=f"{kind} job {pk} deleted",
            data={"job": pk},
        )


def jobs_for(category: Category) -> tuple[SoftwareJob | None, list[ConfigJob]]:
    """The latest software job of the category and the latest job of every config type."""
    software = SoftwareJob.objects.filter(category=category).order_by("-created", "-id").first()
    latest: dict[str, ConfigJob] = {}
    for job in ConfigJob.objects.filter(category=category).order_by(
        "config_type", "-created", "-id"
    ):
        latest.setdefault(job.config_type, job)
    return software, list(latest.values())


# --- Phones registering -----------------------------------------------------------------


@dataclass(frozen=True)
class PhoneAnswer(DeviceAnswer):
    """What a phone gets when it joins: where to connect and what to apply."""

    device_url: str = ""
    customer: str = ""
    category: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    software: dict[str, Any] | None = None
    config_jobs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PhoneReport:
    """What a phone says about itself."""

    mac: str
    model: str = ""
    firmware: str = ""
    bootcode: str = ""
    local_ip: str | None = None


def device_url(*, customer: Customer, base_url: str) -> str:
    """The address a customer's phones register at (automatic provisioning; what ZTP
    registers with vendors): the device endpoint with the customer's domain."""
    return f"{base_url.rstrip('/')}{DEVICE_PATH}?domain={quote(customer.slug, safe='')}"


def _phone_join(
    *,
    customer: Customer,
    category: Category,
    phone: PhoneReport,
    now: datetime,
    base_url: str,
    entered_code: str = "",
    app_id: str = "",
) -> tuple[Device, PhoneAnswer]:
    """Create or refresh the phone as a device of `customer` in `category`, deliver its
    jobs and say what it gets."""
    device_id = mac_normalize(phone.mac)
    defaults = {
        "kind": DeviceKind.DESK_PHONE,
        "state": DeviceState.ACTIVE,
        "mac": mac_display(device_id),
        "model": phone.model[:64],
        "firmware": phone.firmware[:64],
        "bootcode": phone.bootcode[:64],
        "local_ip": phone.local_ip,
        "category": category.name,
        "last_checkin": now,
    }
    if entered_code:
        defaults["entered_code"] = entered_code
    if app_id:
        defaults["app_id"] = app_id
    device, _ = Device.objects.update_or_create(
        customer=customer,
        device_id=device_id,
        defaults=defaults,
        create_defaults={**defaults, "first_connect": now},
    )
    software, config_jobs = jobs_for(category)
    JobDelivery.objects.bulk_create(
        [
            JobDelivery(customer=customer, device=device, software_job=job, delivered_at=now)
            for job in ([software] if software else [])
        ]
        + [
            JobDelivery(customer=customer, device=device, config_job=job, delivered_at=now)
            for job in config_jobs
        ]
    )
    return device, PhoneAnswer(
        HistoryResult.OK,
        device_url=device_url(customer=customer, base_url=base_url),
        customer=customer.slug,
        category=category.name,
        config=category.bootstrap.parameters if category.bootstrap else {},
        software=software.firmware if software else None,
        config_jobs=[
            {"type": job.config_type, "parameters": job.parameters} for job in config_jobs
        ],
    )


# Refusals after which the presented code still registers a phone.
CODE_STILL_VALID = frozenset({HistoryResult.RATE_LIMITED})


def code_redeem(
    *, code: str, phone: PhoneReport, base_url: str, ip_address: str | None = None
) -> PhoneAnswer:
    """A phone presents a code: once, before it expires. The phone joins the code's
    customer and category, and a History row (action CODE) records every attempt. Each
    try is budgeted first (provisioning.guessing): a code that works gives its try back."""
    now = timezone.now()
    customer_id = None
    budget, wait = guessing.code_try(code, ip_address=ip_address, now=now)
    if budget is None:
        history_record(
            customer_id=None,
            action=HistoryAction.CODE,
            result=HistoryResult.RATE_LIMITED,
            device_id=mac_normalize(phone.mac) or "",
            ip_address=ip_address,
        )
        return PhoneAnswer(
            HistoryResult.RATE_LIMITED,
            "code: too many wrong codes tried lately; try again later",
            retry_after=wait,
        )
    with transaction.atomic():
        found = (
            ProvisioningCode.objects.select_for_update(of=("self",))
            .select_related("customer", "category__bootstrap", "rollout")
            .filter(code=code, used_at__isnull=True)
            .first()
        )
        if found is None:
            used = (
                ProvisioningCode.objects.filter(code=code)
                .values_list("customer_id", flat=True)
                .first()
            )
            customer_id = used
            outcome = (
                PhoneAnswer(HistoryResult.CODE_USED, "code: this code has been used already")
                if used is not None
                else PhoneAnswer(HistoryResult.UNKNOWN_CODE, "code: no such code")
            )
        elif found.expires_at <= now or not found.customer.is_active:
            customer_id = found.customer_id
            outcome = PhoneAnswer(HistoryResult.EXPIRED, "code: expired; ask for a new one")
        elif wait := ratelimit.hit(
            f"code-customer:{found.customer_id}", settings.CODE_REDEMPTIONS_PER_CUSTOMER
        ):
            # A burst of one customer's codes waits; the code stays usable.
            customer_id = found.customer_id
            outcome = PhoneAnswer(
                HistoryResult.RATE_LIMITED,
                "code: too many phones of this customer at once; try again shortly",
                retry_after=wait,
            )
        else:
            customer_id = found.customer_id
            device, outcome = _phone_join(
                customer=found.customer,
                category=found.category,
                phone=phone,
                now=now,
                base_url=base_url,
                entered_code=code,
                app_id=found.rollout.app_id if found.rollout else "",
            )
            found.used_at = now
            found.device = device
            found.save(update_fields=["used_at", "device"])
            guessing.network_learn(customer_id=customer_id, ip_address=ip_address, now=now)
        if outcome.result in CODE_STILL_VALID or outcome.ok:
            ratelimit.budget_give_back(budget)
        history_record(
            customer_id=customer_id,
            action=HistoryAction.CODE,
            result=outcome.result,
            # Every role reads History: a code is written there only once it no longer
            # works (used, expired, or no code at all), never while it still does.
            token="" if outcome.result in CODE_STILL_VALID else code,
            device_id=mac_normalize(phone.mac) or "",
            ip_address=ip_address,
        )
    return outcome


# --- Automatic provisioning -------------------------------------------------------------


def _token_hash(token: str) -> str:
    # Keyed and fast: every registering phone presents the token, so a deliberately slow
    # password hash would cost each request; the key keeps a leaked table useless.
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


def auto_token_weakness(token: str) -> str | None:
    """Why `token` may not be an automatic provisioning token, or None. Its domain is
    public, so the token alone keeps strangers' phones out."""
    if len(token) < AUTO_TOKEN_MIN_LENGTH or len(token) > 128:
        return f"{AUTO_TOKEN_MIN_LENGTH} to 128 characters (leave it empty to get a random one)"
    if any(ord(c) < 33 or ord(c) == 127 for c in token) or json_value_error(token):
        return "printable characters without spaces"
    if len(set(token)) < AUTO_TOKEN_MIN_DISTINCT:
        return f"at least {AUTO_TOKEN_MIN_DISTINCT} different characters"
    pool = sum(
        size
        for size, present in [
            (26, any(c.islower() for c in token)),
            (26, any(c.isupper() for c in token)),
            (10, any(c.isdigit() for c in token)),
            (33, any(not c.isalnum() for c in token)),
        ]
        if present
    )
    if len(token) * math.log2(max(pool, 2)) < AUTO_TOKEN_MIN_BITS:
        return (
            "too easy to guess: make it longer, or mix upper and lower case, digits and "
            "signs (leave it empty to get a random one)"
        )
    return None


def auto_provisioning_enable(*, customer: Customer, user: User | None, token: str = "") -> str:
    """Enable automatic provisioning with `token` (or a new random one) and return the
    token: this is the only time it can be shown; only its keyed hash is kept. Setting a
    new token rotates it: phones using the old one are refused from now on."""
    token = token or secrets.token_urlsafe(24)
    problem = auto_token_weakness(token)
    if problem:
        raise ValidationError({"token": problem})
    AutoProvisioning.objects.update_or_create(
        customer=customer,
        defaults={
            "enabled": True,
            "token_hash": _token_hash(token),
            "token_hint": token[-4:],
            "token_set_at": timezone.now(),
        },
    )
    event_log(
        customer=customer,
        user=user,
        type=EventType.AUTO_PROVISIONING_TOKEN_SET,
        info="Automatic provisioning enabled with a new security token",
    )
    return token


def auto_provisioning_disable(*, customer: Customer, user: User | None) -> None:
    changed = (
        AutoProvisioning.objects.for_customer(customer)
        .filter(enabled=True)
        .update(
            enabled=False, token_hash="", token_hint="", token_set_at=None, updated=timezone.now()
        )
    )
    if changed:
        event_log(
            customer=customer,
            user=user,
            type=EventType.AUTO_PROVISIONING_DISABLED,
            info="Automatic provisioning disabled; its security token no longer works",
        )


def auto_provisioning_token_matches(*, customer: Customer, token: str) -> bool:
    """Whether `token` is the customer's current automatic provisioning token."""
    setup = AutoProvisioning.objects.for_customer(customer).filter(enabled=True).first()
    return setup is not None and hmac.compare_digest(setup.token_hash, _token_hash(token))


def auto_provisioning_key_issue(*, customer: Customer, purpose: str) -> str:
    """A token of its own for a system that registers the customer's phones elsewhere
    (e.g. "ztp:snom"), replacing any it had. Needs automatic provisioning enabled: the
    customer's administrators decide whether phones may register themselves at all.
    Returns the token; only its keyed hash is kept."""
    if not AutoProvisioning.objects.for_customer(customer).filter(enabled=True).exists():
        raise Missing(
            f"{customer.name} has no provisioning token: enable automatic provisioning "
            "(Phones > Automatic provisioning) first"
        )
    token = secrets.token_urlsafe(24)
    AutoProvisioningKey.objects.update_or_create(
        customer=customer, purpose=purpose, defaults={"token_hash": _token_hash(token)}
    )
    return token


def auto_provisioning_key_revoke(*, customer: Customer, purpose: str) -> None:
    AutoProvisioningKey.objects.for_customer(customer).filter(purpose=purpose).delete()


def auto_provisioning_line(*, url: str, token: str, category: str) -> tuple[str, str]:
    """The registration URL with the token and category, and the configuration line for
    a phone's update script. Each value is percent-encoded first, then the whole URL is
    encoded once more for the line: the update script decodes one level."""
    full = f"{url}&token={quote(token, safe='')}&category={quote(category, safe='')}"
    return full, f"config change SYSCLIENT /sysadmin {quote(full, safe='')}"


def auto_register(
    *,
    domain: str,
    token: str,
    category: str,
    phone: PhoneReport,
    base_url: str,
    ip_address: str | None = None,
) -> PhoneAnswer:
    """A phone registers itself with its customer's automatic provisioning token. An
    unknown domain, a disabled customer and a wrong token get the same answer."""
    now = timezone.now()
    setup = (
        AutoProvisioning.objects.select_related("customer")
        .filter(customer__slug=domain, customer__is_active=True, enabled=True)
        .first()
    )
    customer_id = None
    presented = _token_hash(token)
    if setup is None or not (
        hmac.compare_digest(setup.token_hash, presented)
        or AutoProvisioningKey.objects.filter(
            customer_id=setup.customer_id, token_hash=presented
        ).exists()
    ):
        outcome = PhoneAnswer(HistoryResult.UNKNOWN_TOKEN, "token: no such domain and token")
    else:
        customer_id = setup.customer_id
        found = (
            Category.objects.for_customer(setup.customer)
            .select_related("bootstrap")
            .filter(name=category, is_provisioning=True)
            .first()
        )
        if found is None:
            outcome = PhoneAnswer(
                HistoryResult.UNKNOWN_CATEGORY,
                f"category: {category!r} is not a provisioning category of this domain",
            )
        else:
            with transaction.atomic():
                _device, outcome = _phone_join(
                    customer=setup.customer, category=found, phone=phone, now=now, base_url=base_url
                )
                guessing.network_learn(customer_id=customer_id, ip_address=ip_address, now=now)
    history_record(
        customer_id=customer_id,
        action=HistoryAction.AUTO,
        result=outcome.result,
        device_id=mac_normalize(phone.mac) or "",
        ip_address=ip_address,
    )
    return outcome


def customer_phone_defaults_create(*, customer: Customer, user: User | None = None) -> Category:
    """Every customer starts with one provisioning category."""
    category, _ = category_save(customer=customer, user=user, name=DEFAULT_CATEGORY)
    return category
