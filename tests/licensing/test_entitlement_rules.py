"""The license line rule agrees wherever it is written (licensing.models, "When a license
line is usable"): the SQL of the seat statement (a new license), the Python check that
lets a device keep the license it holds, the ORM queryset (Entitlement.objects.usable(),
which the dashboard's pool totals count) and the state the license pages show. Every
combination of state, expiration and room goes through all of them."""

import itertools
from datetime import timedelta

from django.utils import timezone

from devices.models import Device, DeviceKind
from gateway.services.licenses import license_request
from licensing.models import (
    Assignment,
    Entitlement,
    EntitlementState,
    LicenseType,
    entitlement_usable,
)
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, HistoryResult
from tests.factories import CustomerFactory

DAY = timedelta(days=1)
CASES = list(
    itertools.product(
        [EntitlementState.ACTIVE, EntitlementState.EXPIRED],
        [-DAY, DAY],  # expiration, from now
        [(0, 2), (1, 2), (2, 2)],  # (used, total): room, room, full
    )
)


def test_every_line_case_gets_the_same_answer_from_sql_orm_and_python(db):
    now = timezone.now()
    for number, (state, expires, (used, total)) in enumerate(CASES):
        customer = CustomerFactory(slug=f"line-case-{number}")
        bootstrap_save(customer=customer, user=None, name="B", parameters={})
        token, _ = token_save(
            customer=customer,
            user=None,
            value=f"line-case-{number}",
            app_id=AppId.VOICE,
            bootstrap="B",
        )
        line = Entitlement.objects.create(
            customer=customer,
            activation_id=f"aid-line-case-{number:03}",
            license_type=LicenseType.STANDARD,
            total=total,
            used=used,
            expiration=now + expires,
            state=state,
        )
        holder, newcomer = (
            Device.objects.create(
                customer=customer, device_id=f"{name}-{number}", kind=DeviceKind.VENDOR
            )
            for name in ("holder", "newcomer")
        )
        if used:
            # The holder has one of the used seats.
            Assignment.objects.create(
                customer=customer,
                entitlement=line,
                device=holder,
                license_type=LicenseType.STANDARD,
                feature="CUCM",
                last_contact=now,
            )
        case = (state, expires, used, total)
        usable = entitlement_usable(state=state, expiration=line.expiration, now=now)

        # The ORM form, and the state the pages show.
        assert Entitlement.objects.usable(now).filter(pk=line.pk).exists() == usable, case
        assert (line.current_state == EntitlementState.ACTIVE) == usable, case

        # The Python form: the holder keeps its license only from a usable line; else it
        # would need a new one, and the only line is not usable.
        if used:
            kept = license_request(token=token.value, device_id=holder.device_id, feature="CUCM")
            assert kept.result == (HistoryResult.OK if usable else HistoryResult.NO_LICENSE), case
            if usable:
                assert kept.activation_id == line.activation_id, case

        # The SQL form: a new license comes from a usable line with room left.
        line.refresh_from_db()
        room = line.used < line.total
        fresh = license_request(token=token.value, device_id=newcomer.device_id, feature="CUCM")
        assert fresh.result == (
            HistoryResult.OK if usable and room else HistoryResult.NO_LICENSE
        ), case
