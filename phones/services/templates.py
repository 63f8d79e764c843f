"""A customer's own phone file templates (FileTemplate): saved only once they render for
the sample phone (phones.files.render.template_check) into a file the vendor's phone
would read (the simulator's strict parsers); removing one brings the shipped one back."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, User
from phones.files import render, simulator
from phones.files.vendors import COMMON, FIRMWARE, SETTINGS, VENDORS, Vendor
from phones.models import FileTemplate
from reports.models import EventType
from reports.services import event_log

MAX_TEMPLATE = 64 * 1024

# Each kind of file, by vendor: its name as the phone asks for it, and the parser a phone
# reads it with.
KINDS = {
    ("snom", SETTINGS): ("<MAC>.xml", simulator.parse_snom),
    ("snom", FIRMWARE): ("<MAC>-firmware.xml", simulator.parse_snom_firmware),
    ("yealink", COMMON): ("y0000000000XX.cfg", simulator.parse_cfg),
    ("yealink", SETTINGS): ("<mac>.cfg", simulator.parse_cfg),
    ("gigaset", SETTINGS): ("<MAC>.xml", simulator.parse_gigaset),
}


def template_kind(vendor_key: str, kind: str) -> Vendor:
    """The vendor of a (vendor, kind) pair a template may be written for; else a
    ValidationError naming the field."""
    vendor = VENDORS.get(vendor_key)
    if vendor is None:
        raise ValidationError({"vendor": f"one of {', '.join(sorted(VENDORS))}"})
    if (vendor_key, kind) not in KINDS:
        kinds = ", ".join(k for v, k in KINDS if v == vendor_key)
        raise ValidationError({"kind": f"for {vendor.label}: one of {kinds}"})
    return vendor


def shipped_source(vendor: Vendor, kind: str) -> str:
    """The text of the shipped template (the vendor's, not a model family's own)."""
    return (render.TEMPLATES / vendor.key / kind).read_text()


def template_preview(vendor_key: str, kind: str, body: str, now: datetime | None = None) -> str:
    """`body` rendered for the sample phone, once the vendor's parser takes it; else a
    ValidationError on "body" with the line and the error."""
    vendor = template_kind(vendor_key, kind)
    if not isinstance(body, str) or not body.strip():
        raise ValidationError({"body": "required: the template's text"})
    if len(body) > MAX_TEMPLATE:
        raise ValidationError({"body": f"at most {MAX_TEMPLATE // 1024} KB"})
    if "\x00" in body:
        raise ValidationError({"body": "no NUL characters"})
    try:
        rendered = render.template_check(vendor, kind, body, now or timezone.now())
    except render.TemplateRefused as exc:
        raise ValidationError({"body": str(exc)}) from None
    try:
        KINDS[(vendor_key, kind)][1](rendered)
    except simulator.PhoneRefused as exc:
        raise ValidationError(
            {"body": f"a {vendor.label} phone would not read the file it gives: {exc}"}
        ) from None
    return rendered


def file_template_save(
    *, customer: Customer, user: User | None, vendor_key: str, kind: str, body: str
) -> FileTemplate:
    """Use `body` for the customer's phones' files of this vendor and kind."""
    template_preview(vendor_key, kind, body)
    with transaction.atomic():
        template, created = FileTemplate.objects.update_or_create(
            customer=customer,
            vendor=vendor_key,
            kind=kind,
            defaults={"body": body, "updated_by": user},
        )
        event_log(
            customer=customer,
            user=user,
            type=EventType.PHONE_TEMPLATE_SAVED,
            info=f"{VENDORS[vendor_key].label} {kind} template "
            + ("added" if created else "changed"),
            data={"vendor": vendor_key, "kind": kind},
        )
    return template


def file_template_delete(*, customer: Customer, user: User | None, vendor_key: str, kind: str):
    """Go back to the shipped template. Whether there was an own one."""
    with transaction.atomic():
        deleted, _ = (
            FileTemplate.objects.for_customer(customer)
            .filter(vendor=vendor_key, kind=kind)
            .delete()
        )
        if deleted:
            event_log(
                customer=customer,
                user=user,
                type=EventType.PHONE_TEMPLATE_DELETED,
                info=f"{VENDORS[vendor_key].label} {kind} template back to the shipped one",
                data={"vendor": vendor_key, "kind": kind},
            )
    return bool(deleted)


def category_preview(category, *, base_url: str, now: datetime | None = None) -> list:
    """What a phone of `category` receives, per vendor: (vendor, file name, the file) for
    the vendor's sample model (render.SAMPLE_MODELS) with no lines, the customer's own
    templates used where it has them. The URL's secret is left for the page to mask."""
    from phones.files.access import vendor_url
    from phones.services.jobs import jobs_for

    now = now or timezone.now()
    software, config_jobs = jobs_for(category)
    own = dict(
        FileTemplate.objects.for_customer(category.customer)
        .filter(kind=SETTINGS)
        .values_list("vendor", "body")
    )
    shown = []
    for vendor in VENDORS.values():
        model = render.SAMPLE_MODELS[vendor.key]
        server_url = vendor_url(vendor, customer=category.customer, base_url=base_url)
        inputs = render.PhoneInputs(
            vendor=vendor,
            mac="000413ABCDEF",
            model=model,
            family=vendor.family_of(model) or "",
            customer=category.customer.name,
            settings=category.bootstrap.parameters if category.bootstrap else {},
            config_jobs=tuple(j.parameters for j in sorted(config_jobs, key=lambda j: j.created)),
            firmware=software.firmware if software else None,
            provisioning_url=server_url,
            files_url=server_url.rsplit("/", 1)[0] + "/",
        )
        name = KINDS[(vendor.key, SETTINGS)][0]
        body = render.render(inputs, SETTINGS, now, override=own.get(vendor.key))
        shown.append((vendor, f"{vendor.label} {model}", name, body))
    return shown
