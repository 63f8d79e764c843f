"""The license lists' FilterSets, shared by the Summary and Assigned pages, their CSV
exports and GET /admin/api/v1/licenses/summary and /assigned.

Each FilterSet also shapes its queryset (joins and computed columns) in `__init__`, so a
column that can be shown can be sorted on, and every caller gets the same rows."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.conf import settings
from django.db.models import Case, CharField, Q, QuerySet, TextChoices, Value, When
from django.db.models.functions import Coalesce, Greatest, Right
from django.utils import timezone

from accounts.filters import StableOrderingFilter
from licensing.models import (
    Assignment,
    Entitlement,
    EntitlementState,
    Feature,
    LicenseType,
    usable_lines,
)

# Entitlement.masked_activation_id shows "***" and this many trailing characters. Search
# and sort use only these, so neither can be used to guess the hidden part of an ID.
AID_VISIBLE_CHARS = 9


class LicenseStatus(TextChoices):
    """The Assigned page's License column."""

    ASSIGNED = "assigned", "Assigned"
    UNASSIGNED = "unassigned", "Unassigned"


class UseStatus(TextChoices):
    """The Assigned page's Use Status column (reference guide, "Assigned")."""

    IN_USE = "in_use", "In use"
    NOT_IN_USE = "not_in_use", "Not in use"
    # A Premium license still held by a device that has been silent for the release
    # interval: Premium licenses are never released automatically.
    HELD = "held", "Not in use (*)"


def _visible_aid(field: str) -> Right:
    return Right(field, AID_VISIBLE_CHARS)


class EntitlementFilterSet(django_filters.FilterSet):
    """The Summary page, its CSV export and GET /admin/api/v1/licenses/summary.

    Rows carry `used` (the line's counter of live assignments, kept by licensing.services),
    `aid_tail` (the visible part of the activation ID) and `state_now` (Expired once
    the expiration has passed, as Entitlement.current_state says); the customer is
    joined."""

    q = django_filters.CharFilter(method="search", label="AID or term")
    state = django_filters.ChoiceFilter(field_name="state_now", choices=EntitlementState.choices)
    licenseType = django_filters.ChoiceFilter(
        field_name="license_type", choices=LicenseType.choices, label="License type"
    )
    ordering = StableOrderingFilter(
        fields=(
            ("customer__name", "customer"),
            ("state_now", "state"),
            ("license_type", "license"),
            ("aid_tail", "aid"),
            ("term", "term"),
            ("total", "totalPurchased"),
            ("used", "totalUsed"),
            ("expiration", "expiration"),
            ("verified_at", "verified"),
            ("created", "created"),
        ),
        field_labels={
            "aid_tail": "AID",
            "state_now": "State",
            "total": "Total purchased",
            "used": "Total used",
            "verified_at": "Last verified",
        },
    )

    class Meta:
        model = Entitlement
        fields = ["q", "state", "licenseType"]

    def __init__(self, data=None, queryset: QuerySet | None = None, **kwargs):
        if queryset is not None:
            queryset = queryset.select_related("customer").annotate(
                aid_tail=_visible_aid("activation_id"),
                state_now=Case(
                    When(usable_lines(timezone.now()), then=Value(EntitlementState.ACTIVE)),
                    default=Value(EntitlementState.EXPIRED),
                    output_field=CharField(),
                ),
            )
        super().__init__(data, queryset, **kwargs)

    def search(self, queryset, name, value):
        value = value.strip()
        # Someone pasting a masked AID ("***e295c6d1") means its visible part.
        aid = value.lstrip("*")
        match = Q(term__icontains=value)
        if aid:
            match |= Q(aid_tail__icontains=aid)
        return queryset.filter(match)


class AssignmentFilterSet(django_filters.FilterSet):
    """The Assigned page, its CSV export and GET /admin/api/v1/licenses/assigned.

    Rows carry `license_status`, `last_seen` (the later of the device's last check-in and
    the license's last contact) and `use_status`, computed in SQL as of now so they can be
    sorted on; the customer, the device and the entitlement are joined."""

    q = django_filters.CharFilter(method="search", label="Device ID or feature")
    license = django_filters.ChoiceFilter(
        method="filter_license", choices=LicenseStatus.choices, label="License"
    )
    licenseType = django_filters.ChoiceFilter(
        field_name="license_type", choices=LicenseType.choices, label="License type"
    )
    feature = django_filters.ChoiceFilter(choices=Feature.choices)
    ordering = StableOrderingFilter(
        fields=(
            ("customer__name", "customer"),
            ("license_status", "license"),
            ("use_status", "useStatus"),
            ("device__device_id", "deviceId"),
            ("feature", "feature"),
            ("entitlement__expiration", "expiration"),
            ("aid_tail", "aid"),
            ("app_version", "appVersion"),
            ("last_seen", "updated"),
            ("created", "created"),
        ),
        field_labels={
            "use_status": "Use status",
            "device__device_id": "Device ID",
            "aid_tail": "AID",
            "app_version": "App version",
            "last_seen": "Last contact",
            "created": "First assigned",
        },
    )

    class Meta:
        model = Assignment
        fields = ["q", "license", "licenseType", "feature"]

    def __init__(self, data=None, queryset: QuerySet | None = None, **kwargs):
        if queryset is not None:
            queryset = with_use_status(
                queryset.select_related("customer", "device", "entitlement").annotate(
                    aid_tail=_visible_aid("entitlement__activation_id")
                )
            )
        super().__init__(data, queryset, **kwargs)

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(device__device_id__icontains=value) | Q(feature__icontains=value))

    def filter_license(self, queryset, name, value):
        return queryset.filter(released_at__isnull=value == LicenseStatus.ASSIGNED)


def with_use_status(queryset: QuerySet, *, now=None) -> QuerySet:
    """Annotate assignments with `license_status`, `last_seen` and `use_status`.

    In use: assigned, and the device checked in or asked for a license within
    LICENSE_RELEASE_DAYS (the interval after which standard_licenses_release gives a
    Standard license back). Not in use (*): a Premium license still assigned to a device
    silent for longer; only removing the device releases it. Not in use: everything else,
    i.e. released licenses, and a silent device's Standard license the next release run
    will give back."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LICENSE_RELEASE_DAYS)
    return queryset.annotate(
        license_status=Case(
            When(released_at__isnull=True, then=Value(LicenseStatus.ASSIGNED)),
            default=Value(LicenseStatus.UNASSIGNED),
            output_field=CharField(),
        ),
        # Coalesce first: SQLite's MAX() of a NULL is NULL, PostgreSQL's GREATEST skips it.
        last_seen=Greatest("last_contact", Coalesce("device__last_checkin", "last_contact")),
        use_status=Case(
            When(released_at__isnull=False, then=Value(UseStatus.NOT_IN_USE)),
            When(last_seen__gte=cutoff, then=Value(UseStatus.IN_USE)),
            When(license_type=LicenseType.PREMIUM, then=Value(UseStatus.HELD)),
            default=Value(UseStatus.NOT_IN_USE),
            output_field=CharField(),
        ),
    )
