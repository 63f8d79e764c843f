"""Phones joining a customer: by a one-time code a person typed (`code_redeem`) or by the
customer's automatic provisioning token (`auto_register`). Either way the phone becomes a
device of the customer in a category and is answered with what its category gives it:
the category's bootstrap, the latest software job and the latest job of every config
type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from core import ratelimit
from devices.models import Device, DeviceKind, DeviceState
from devices.services import mac_display, mac_normalize
from gateway.services.answers import DeviceAnswer
from phones import guessing
from phones.files.access import files_base_url
from phones.models import (
    AutoProvisioning,
    Category,
    JobDelivery,
    PhoneBinding,
    ProvisioningCode,
)
from phones.services.auto import auto_setup_accepts
from phones.services.jobs import jobs_for
from reports.models import HistoryAction, HistoryResult
from reports.services import history_record


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


def phone_join(
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
        device_url=files_base_url(customer=customer, base_url=base_url),
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
    try is budgeted first (phones.guessing): a code that works gives its try back."""
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
            device, outcome = phone_join(
                customer=found.customer,
                category=found.category,
                phone=phone,
                now=now,
                base_url=base_url,
                entered_code=code,
                app_id=found.rollout.app_id if found.rollout else "",
            )
            # A code registers the phone anew: its next file fetch binds it again.
            PhoneBinding.objects.filter(device=device).delete()
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
    if setup is None or not auto_setup_accepts(setup, token):
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
                _device, outcome = phone_join(
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
