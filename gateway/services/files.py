"""A desk phone fetching its configuration file (`GET /phones/<secret>/<vendor>/<file>`):
find the customer by the URL's secret, the phone by the MAC in the file name, check the
phone is the one bound to that MAC, and write the file in its vendor's format
(phones.files). Every fetch, good or bad, leaves one History row (action FILE); the
secret is never written there or in a log."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import crypto
from devices.models import Device, DeviceState
from gateway.services.phones import PhoneReport, phone_join
from phones.files import render
from phones.files.access import secret_lookup, vendor_url
from phones.files.vendors import COMMON, FIRMWARE, VENDORS, Vendor
from phones.guessing import network_learn, network_of
from phones.models import (
    AutoProvisioning,
    Category,
    FileSecret,
    FileTemplate,
    PhoneBinding,
    PhoneLine,
)
from phones.services.categories import default_provisioning_category
from phones.services.jobs import jobs_for
from reports.models import HistoryAction, HistoryResult
from reports.services import history_record

SECRET = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class FileAnswer:
    result: str
    detail: str = ""
    body: str = ""
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.result == HistoryResult.OK


def _refused(result: str, detail: str) -> FileAnswer:
    return FileAnswer(result, detail)


def _joined_by(device: Device) -> str:
    if device.entered_code:
        return f"code {device.entered_code[:4]}…"
    return "automatic provisioning"


def phone_inputs(
    *, vendor: Vendor, customer, device: Device, model: str, family: str, base_url: str
) -> render.PhoneInputs:
    """What the phone's file is written from: its category's settings and jobs, its
    lines (passwords decrypted), and where it fetches from next."""
    category = (
        Category.objects.for_customer(customer)
        .select_related("bootstrap")
        .filter(name=device.category)
        .first()
    )
    software, config_jobs = jobs_for(category) if category else (None, [])
    lines = tuple(
        render.Line(
            line.position,
            line.extension,
            line.display_name,
            line.auth_user,
            crypto.unseal(line.password_sealed).get("password", "") if line.password_sealed else "",
        )
        for line in PhoneLine.objects.filter(device=device).order_by("position")
    )
    files_url = vendor_url(vendor, customer=customer, base_url=base_url)
    return render.PhoneInputs(
        vendor=vendor,
        mac=device.device_id,
        model=model,
        family=family,
        customer=customer.name,
        settings=category.bootstrap.parameters if category and category.bootstrap else {},
        config_jobs=tuple(job.parameters for job in sorted(config_jobs, key=lambda j: j.created)),
        firmware=software.firmware if software else None,
        lines=lines,
        provisioning_url=files_url,
        files_url=files_url.rsplit("/", 1)[0] + "/",
    )


def _template(customer, vendor: Vendor, kind: str) -> str | None:
    return (
        FileTemplate.objects.for_customer(customer)
        .filter(vendor=vendor.key, kind=kind)
        .values_list("body", flat=True)
        .first()
    )


def _first_fetch(customer, mac: str, phone: PhoneReport, base_url: str, ip_address, now):
    """A MAC the customer does not know yet: it joins, as with automatic provisioning,
    the customer's first provisioning category, if the customer lets phones register
    themselves; else None."""
    if not AutoProvisioning.objects.for_customer(customer).filter(enabled=True).exists():
        return None
    category = default_provisioning_category(customer)
    if category is None:
        return None
    with transaction.atomic():
        device, _answer = phone_join(
            customer=customer, category=category, phone=phone, now=now, base_url=base_url
        )
        network_learn(customer_id=customer.pk, ip_address=ip_address, now=now)
    return device


def phone_file(
    *,
    secret: str,
    vendor_key: str,
    name: str,
    user_agent: str,
    base_url: str,
    ip_address: str | None,
    now: datetime | None = None,
) -> FileAnswer:
    """The file `name` of `vendor_key` for the customer whose secret is `secret`."""
    now = now or timezone.now()
    customer_id = None
    device_id = ""
    vendor = VENDORS.get(vendor_key)
    request = vendor.request(name) if vendor else None
    if request and request.mac:
        device_id = request.mac
    if vendor is None:
        answer = _refused(HistoryResult.BAD_REQUEST, "vendor: not one this server writes for")
    elif request is None:
        answer = _refused(HistoryResult.BAD_REQUEST, f"file: no {vendor.label} phone asks for it")
    elif not SECRET.fullmatch(secret):
        answer = _refused(HistoryResult.UNKNOWN_TOKEN, "secret: no such phone file URL")
    else:
        found = (
            FileSecret.objects.select_related("customer")
            .filter(lookup=secret_lookup(secret), customer__is_active=True)
            .filter(Q(retires_at__isnull=True) | Q(retires_at__gt=now))
            .first()
        )
        if found is None:
            answer = _refused(HistoryResult.UNKNOWN_TOKEN, "secret: no such phone file URL")
        else:
            customer_id = found.customer_id
            answer = _answer(vendor, request, found.customer, user_agent, base_url, ip_address, now)
    history_record(
        customer_id=customer_id,
        action=HistoryAction.FILE,
        result=answer.result,
        app_id=vendor.key if vendor else "",
        device_id=device_id,
        ip_address=ip_address,
    )
    return answer


def _answer(vendor, request, customer, user_agent, base_url, ip_address, now) -> FileAnswer:
    model, firmware = vendor.model_of(user_agent)
    if request.kind == COMMON:
        if not request.family:
            return _refused(HistoryResult.UNKNOWN_MODEL, "file: no such model family")
        inputs = render.PhoneInputs(
            vendor=vendor,
            mac="",
            model=next(m for m, f in vendor.families.items() if f == request.family),
            family=request.family,
            customer=customer.name,
            provisioning_url=vendor_url(vendor, customer=customer, base_url=base_url),
        )
        return _rendered(vendor, customer, inputs, request.kind, now)
    device = (
        Device.objects.for_customer(customer)
        .select_related("file_binding")
        .filter(device_id=request.mac)
        .first()
    )
    if device is None:
        device = _first_fetch(
            customer,
            request.mac,
            PhoneReport(mac=request.mac, model=model, firmware=firmware, local_ip=None),
            base_url,
            ip_address,
            now,
        )
        if device is None:
            return _refused(HistoryResult.UNKNOWN_DEVICE, "mac: not a phone of this customer")
        joined_by = "file URL"
    else:
        joined_by = _joined_by(device)
    if device.state == DeviceState.OBSOLETE:
        return _refused(HistoryResult.OBSOLETE_DEVICE, "mac: this phone was marked obsolete")
    binding = getattr(device, "file_binding", None)
    model = model or (binding.model if binding else "") or device.model.upper()
    family = vendor.family_of(model)
    if family is None:
        return _refused(
            HistoryResult.UNKNOWN_MODEL,
            f"model: {model or 'none given'} is not a {vendor.label} model this server knows",
        )
    network = network_of(ip_address) or ""
    if binding is None:
        # Two first fetches at once (a phone retrying): the one that binds first decides.
        binding, _ = PhoneBinding.objects.get_or_create(
            device=device,
            defaults={
                "customer": customer,
                "vendor": vendor.key,
                "model": model,
                "network": network,
                "joined_by": joined_by,
                "bound_at": now,
            },
        )
    if (binding.vendor, binding.model, binding.network) != (vendor.key, model, network):
        return _refused(
            HistoryResult.BOUND_ELSEWHERE,
            "mac: this phone is bound to another model or network; release it in the portal",
        )
    inputs = phone_inputs(
        vendor=vendor,
        customer=customer,
        device=device,
        model=model,
        family=family,
        base_url=base_url,
    )
    if request.kind == FIRMWARE and not inputs.firmware:
        return _refused(HistoryResult.UNKNOWN_DEVICE, "file: no software job for this phone")
    return _rendered(vendor, customer, inputs, request.kind, now)


def _rendered(vendor, customer, inputs, kind, now) -> FileAnswer:
    body = render.render(inputs, kind, now, override=_template(customer, vendor, kind))
    return FileAnswer(HistoryResult.OK, body=body, content_type=vendor.content_type)
