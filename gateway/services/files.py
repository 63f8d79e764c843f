"""A desk phone fetching its configuration file (`GET /phones/<secret>/<vendor>/<file>`):
find the customer by the URL's secret, the phone by the MAC in the file name, check the
phone is the one bound to that MAC, and write the file in its vendor's format
(phones.files). Every fetch, good or bad, leaves one History row (action FILE); the
secret is never written there or in a log."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from core import crypto
from core.rawsql import prepared_cursor
from devices.models import Device, DeviceState
from gateway.services.phones import PhoneReport, phone_join
from phones.files import render
from phones.files.access import (
    file_secret,
    files_url,
    secret_drawn,
    secret_lookup,
    vendor_server_url,
)
from phones.files.vendors import COMMON, FIRMWARE, VENDORS, Vendor
from phones.guessing import network_learn, network_of
from phones.models import (
    AutoProvisioning,
    Category,
    ConfigJob,
    FileSecret,
    FileTemplate,
    PhoneBinding,
    PhoneLine,
    SoftwareJob,
)
from phones.services.categories import default_provisioning_category
from provisioning.models import CUSTOMER_ACTIVE_SQL, Bootstrap
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


@dataclass(frozen=True)
class FileRead:
    """What a fetch needs, as one statement reads it (file_read)."""

    lookup: str  # the secret's, as the phone gave it
    customer_id: int
    customer_name: str
    secret: str | None  # the customer's current secret; None: it must be drawn again
    auto_enabled: bool
    templates: dict[str, str]  # the customer's own templates of the vendor, by kind
    device_pk: int | None = None
    device_state: str = ""
    device_model: str = ""
    entered_code: str = ""
    binding: tuple[str, str, str] | None = None  # vendor, model, network
    settings: dict[str, Any] = field(default_factory=dict)
    firmware: dict[str, Any] | None = None
    config_jobs: tuple[dict[str, Any], ...] = ()  # the latest of each type, oldest first
    lines: tuple[tuple[int, str, str, str, str], ...] = ()  # password still sealed

    def customer(self) -> Customer:
        return Customer.objects.get(pk=self.customer_id)


# One statement along unique indexes (the secret's lookup, the customer's current secret,
# the device's (customer, device_id), the binding's device, the category's (customer,
# name)), with the rows there may be several of (lines, the latest config job of each
# type, the customer's templates) as JSON arrays. A secret is live until it retires; the
# latest jobs are phones.services.jobs.jobs_for's rule, which a test holds this to.
_READ_SQL = """
SELECT c.id, c.name, cur.salt, cur.lookup,
  (SELECT ap.enabled FROM {auto} ap WHERE ap.customer_id = c.id),
  (SELECT {object_agg}(ft.kind, ft.body) FROM {template} ft
    WHERE ft.customer_id = c.id AND ft.vendor = %s),
  d.id, d.state, d.model, d.entered_code, b.vendor, b.model, b.network, bs.parameters,
  (SELECT sj.firmware FROM {software} sj WHERE sj.category_id = cat.id
    ORDER BY sj.created DESC, sj.id DESC LIMIT 1),
  (SELECT {array_agg}({array}({epoch}, cj.id, {parameters})) FROM {config} cj
    WHERE cj.category_id = cat.id AND NOT EXISTS (
      SELECT 1 FROM {config} n WHERE n.category_id = cj.category_id
        AND n.config_type = cj.config_type
        AND (n.created > cj.created OR (n.created = cj.created AND n.id > cj.id)))),
  (SELECT {array_agg}({array}(l.position, l.extension, l.display_name, l.auth_user,
      l.password_sealed)) FROM {line} l WHERE l.device_id = d.id)
FROM {secret} fs
JOIN {customer} c ON c.id = fs.customer_id
LEFT JOIN {secret} cur ON cur.customer_id = c.id AND cur.retires_at IS NULL
LEFT JOIN {device} d ON d.customer_id = c.id AND d.device_id = %s
LEFT JOIN {binding} b ON b.device_id = d.id
LEFT JOIN {category} cat ON cat.customer_id = c.id AND cat.name = d.category
LEFT JOIN {bootstrap} bs ON bs.id = cat.bootstrap_id
WHERE fs.lookup = %s AND {customer_active} AND (fs.retires_at IS NULL OR fs.retires_at > %s)
"""

# PostgreSQL's JSON functions, and SQLite's (which keep JSON as text: a column of JSON
# text goes in through json(), else it would be quoted as a string).
_DIALECTS = {
    "postgresql": {
        "object_agg": "json_object_agg",
        "array_agg": "json_agg",
        "array": "json_build_array",
        "epoch": "extract(epoch FROM cj.created)",
        "parameters": "cj.parameters",
    },
    "sqlite": {
        "object_agg": "json_group_object",
        "array_agg": "json_group_array",
        "array": "json_array",
        "epoch": "julianday(cj.created)",
        "parameters": "json(cj.parameters)",
    },
}


@cache
def _read_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    tables = {
        name: quote(model._meta.db_table)
        for name, model in {
            "auto": AutoProvisioning,
            "template": FileTemplate,
            "software": SoftwareJob,
            "config": ConfigJob,
            "line": PhoneLine,
            "secret": FileSecret,
            "customer": Customer,
            "device": Device,
            "binding": PhoneBinding,
            "category": Category,
            "bootstrap": Bootstrap,
        }.items()
    }
    return _READ_SQL.format(
        customer_active=CUSTOMER_ACTIVE_SQL.format(c="c"), **tables, **_DIALECTS[vendor]
    )


def _json(value: Any, empty: Any) -> Any:
    """A JSON column or aggregate as the driver gives it: text (jsonb, and everything on
    SQLite), already decoded (PostgreSQL's json), or NULL."""
    if value is None:
        return empty
    return json.loads(value) if isinstance(value, str) else value


def file_read(*, lookup: str, vendor: Vendor, mac: str, now: datetime) -> FileRead | None:
    """What a fetch of the phone `mac` with the secret whose lookup is `lookup` needs, in
    one statement; None if no live secret of an active customer has that lookup."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor() as cursor:
        cursor.execute(_read_sql(connection.vendor), [vendor.key, mac, lookup, True, stamp])
        row = cursor.fetchone()
    if row is None:
        return None
    (customer_id, name, salt, current, auto, templates, device_pk, state, model, code) = row[:10]
    (bound_vendor, bound_model, network, settings, firmware, jobs, lines) = row[10:]
    return FileRead(
        lookup=lookup,
        customer_id=customer_id,
        customer_name=name,
        secret=secret_drawn(salt, current) if salt else None,
        auto_enabled=bool(auto),
        templates=_json(templates, {}),
        device_pk=device_pk,
        device_state=state or "",
        device_model=model or "",
        entered_code=code or "",
        binding=(bound_vendor, bound_model, network) if bound_vendor is not None else None,
        settings=_json(settings, {}),
        firmware=_json(firmware, None),
        config_jobs=tuple(job[2] for job in sorted(_json(jobs, []), key=lambda j: j[:2])),
        lines=tuple(tuple(line) for line in sorted(_json(lines, []))),
    )


def phone_inputs(
    read: FileRead, *, vendor: Vendor, mac: str, model: str, family: str, base_url: str
) -> render.PhoneInputs:
    """What the phone's file is written from: its category's settings and jobs, its
    lines (passwords decrypted), and where it fetches from next."""
    secret = read.secret or file_secret(read.customer())
    server_url = vendor_server_url(vendor, files_url(base_url, secret))
    return render.PhoneInputs(
        vendor=vendor,
        mac=mac,
        model=model,
        family=family,
        customer=read.customer_name,
        settings=read.settings if isinstance(read.settings, dict) else {},
        config_jobs=read.config_jobs,
        firmware=read.firmware,
        lines=tuple(
            render.Line(
                position,
                extension,
                display_name,
                auth_user,
                crypto.unseal(sealed).get("password", "") if sealed else "",
            )
            for position, extension, display_name, auth_user, sealed in read.lines
        ),
        provisioning_url=server_url,
        files_url=server_url.rsplit("/", 1)[0] + "/",
    )


def phone_file_body(read: FileRead, inputs: render.PhoneInputs, kind: str, now) -> str:
    """The file of `kind`, from the customer's own template of it if there is one."""
    return render.render(inputs, kind, now, override=read.templates.get(kind))


def _first_fetch(read: FileRead, phone: PhoneReport, base_url: str, ip_address, now) -> bool:
    """A MAC the customer does not know yet: it joins, as with automatic provisioning,
    the customer's first provisioning category, if the customer lets phones register
    themselves. Whether it joined."""
    if not read.auto_enabled:
        return False
    customer = read.customer()
    category = default_provisioning_category(customer)
    if category is None:
        return False
    with transaction.atomic():
        phone_join(customer=customer, category=category, phone=phone, now=now, base_url=base_url)
        network_learn(customer_id=customer.pk, ip_address=ip_address, now=now)
    return True


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
        read = file_read(lookup=secret_lookup(secret), vendor=vendor, mac=device_id, now=now)
        if read is None:
            answer = _refused(HistoryResult.UNKNOWN_TOKEN, "secret: no such phone file URL")
        else:
            customer_id = read.customer_id
            answer = _answer(vendor, request, read, user_agent, base_url, ip_address, now)
    history_record(
        customer_id=customer_id,
        action=HistoryAction.FILE,
        result=answer.result,
        app_id=vendor.key if vendor else "",
        device_id=device_id,
        ip_address=ip_address,
    )
    return answer


def _answer(vendor, request, read: FileRead, user_agent, base_url, ip_address, now):
    model, firmware = vendor.model_of(user_agent)
    if request.kind == COMMON:
        if not request.family:
            return _refused(HistoryResult.UNKNOWN_MODEL, "file: no such model family")
        inputs = phone_inputs(
            read,
            vendor=vendor,
            mac="",
            model=next(m for m, f in vendor.families.items() if f == request.family),
            family=request.family,
            base_url=base_url,
        )
        return _rendered(read, inputs, request.kind, now)
    if read.device_pk is None:
        phone = PhoneReport(mac=request.mac, model=model, firmware=firmware, local_ip=None)
        if not _first_fetch(read, phone, base_url, ip_address, now):
            return _refused(HistoryResult.UNKNOWN_DEVICE, "mac: not a phone of this customer")
        read = file_read(lookup=read.lookup, vendor=vendor, mac=request.mac, now=now)
        joined_by = "file URL"
    elif read.entered_code:
        joined_by = f"code {read.entered_code[:4]}…"
    else:
        joined_by = "automatic provisioning"
    if read.device_state == DeviceState.OBSOLETE:
        return _refused(HistoryResult.OBSOLETE_DEVICE, "mac: this phone was marked obsolete")
    model = model or (read.binding[1] if read.binding else "") or read.device_model.upper()
    family = vendor.family_of(model)
    if family is None:
        return _refused(
            HistoryResult.UNKNOWN_MODEL,
            f"model: {model or 'none given'} is not a {vendor.label} model this server knows",
        )
    network = network_of(ip_address) or ""
    binding = read.binding
    if binding is None:
        # Two first fetches at once (a phone retrying): the one that binds first decides.
        bound, _ = PhoneBinding.objects.get_or_create(
            device_id=read.device_pk,
            defaults={
                "customer_id": read.customer_id,
                "vendor": vendor.key,
                "model": model,
                "network": network,
                "joined_by": joined_by,
                "bound_at": now,
            },
        )
        binding = (bound.vendor, bound.model, bound.network)
    if binding != (vendor.key, model, network):
        return _refused(
            HistoryResult.BOUND_ELSEWHERE,
            "mac: this phone is bound to another model or network; release it in the portal",
        )
    inputs = phone_inputs(
        read, vendor=vendor, mac=request.mac, model=model, family=family, base_url=base_url
    )
    if request.kind == FIRMWARE and not render.firmware_url(vendor, family, inputs.firmware):
        return _refused(
            HistoryResult.NO_SOFTWARE, "file: no software job with a file for this phone"
        )
    return _rendered(read, inputs, request.kind, now)


def _rendered(read: FileRead, inputs, kind, now) -> FileAnswer:
    body = phone_file_body(read, inputs, kind, now)
    return FileAnswer(HistoryResult.OK, body=body, content_type=inputs.vendor.content_type)
