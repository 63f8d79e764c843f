"""Filters of the desk phone tables, shared by the portal and the API."""

import django_filters
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from accounts.filters import StableOrderingFilter, TrueFalseFilter
from phones.models import Category, CodeState, ConfigJob, ProvisioningCode, Rollout, SoftwareJob


class CategoryFilterSet(django_filters.FilterSet):
    """The Categories page."""

    q = django_filters.CharFilter(method="search", label="Search")
    provisioning = TrueFalseFilter(
        field_name="is_provisioning", help_text="true or false; empty: either."
    )
    ordering = StableOrderingFilter(
        fields=(
            ("name", "name"),
            ("is_provisioning", "provisioning"),
            ("bootstrap__name", "bootstrap"),
            ("description", "description"),
            ("updated", "updated"),
        )
    )

    class Meta:
        model = Category
        fields = ["q", "provisioning"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(bootstrap__name__icontains=value)
        )


class SoftwareJobFilterSet(django_filters.FilterSet):
    """The Update jobs page, software tab. Newest first unless sorted otherwise."""

    q = django_filters.CharFilter(method="search", label="Search")
    category = django_filters.CharFilter(field_name="category__name", label="Category name")
    ordering = StableOrderingFilter(
        fields=(
            ("created", "created"),
            ("category__name", "category"),
            ("description", "description"),
        )
    )

    class Meta:
        model = SoftwareJob
        fields = ["q", "category"]

    def search(self, queryset, name, value):
        # The firmware description is searched as text, so "13r1" finds the job sending it.
        return queryset.filter(
            Q(description__icontains=value)
            | Q(category__name__icontains=value)
            | Q(firmware__icontains=value)
        )


class ConfigJobFilterSet(django_filters.FilterSet):
    """The Update jobs page, configuration tab. Newest first unless sorted otherwise."""

    q = django_filters.CharFilter(method="search", label="Search")
    category = django_filters.CharFilter(field_name="category__name", label="Category name")
    configType = django_filters.CharFilter(field_name="config_type", label="Config type")
    ordering = StableOrderingFilter(
        fields=(
            ("created", "created"),
            ("category__name", "category"),
            ("config_type", "configType"),
            ("description", "description"),
        )
    )

    class Meta:
        model = ConfigJob
        fields = ["q", "category", "configType"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(description__icontains=value)
            | Q(category__name__icontains=value)
            | Q(config_type__icontains=value)
            | Q(parameters__icontains=value)
        )


class RolloutFilterSet(django_filters.FilterSet):
    """Register phones: the past rollouts, newest first."""

    q = django_filters.CharFilter(method="search", label="Search")
    ordering = StableOrderingFilter(
        fields=(("created", "created"), ("category__name", "category"), ("app_id", "appId"))
    )

    class Meta:
        model = Rollout
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(category__name__icontains=value)
            | Q(created_by__username__icontains=value)
            | Q(created_by__name__icontains=value)
        )


class ProvisioningCodeFilterSet(django_filters.FilterSet):
    """A rollout's codes (and its CSV download). `state` is derived from used_at and
    expires_at, so the state filter and sort compare against the current time."""

    q = django_filters.CharFilter(method="search", label="Search")
    state = django_filters.ChoiceFilter(choices=CodeState.choices, method="filter_state")
    ordering = StableOrderingFilter(
        fields=(
            ("user__username", "user"),
            ("user__name", "name"),
            ("code", "code"),
            ("state_rank", "state"),
            ("expires_at", "expires"),
            ("created", "created"),
        )
    )

    class Meta:
        model = ProvisioningCode
        fields = ["q", "state"]

    def filter_queryset(self, queryset):
        # The sort by state needs the state as a column: pending, registered, expired.
        now = timezone.now()
        queryset = queryset.annotate(
            state_rank=Case(
                When(used_at__isnull=False, then=Value(2)),
                When(expires_at__lte=now, then=Value(3)),
                default=Value(1),
            )
        )
        return super().filter_queryset(queryset)

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value.replace(" ", "").replace("-", "") or value)
            | Q(user__username__icontains=value)
            | Q(user__name__icontains=value)
            | Q(user__email__icontains=value)
        )

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == CodeState.REGISTERED:
            return queryset.filter(used_at__isnull=False)
        if value == CodeState.EXPIRED:
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        return queryset.filter(used_at__isnull=True, expires_at__gt=now)
