import django_filters
from django.db.models import Q

from accounts.filters import StableOrderingFilter, TrueFalseFilter
from provisioning.models import Bootstrap, Token
from reports.models import AppId


class BootstrapFilterSet(django_filters.FilterSet):
    """Shared by the Bootstraps page and GET /admin/api/v1/bootstraps."""

    q = django_filters.CharFilter(method="search", label="Search")
    ordering = StableOrderingFilter(
        fields=(("name", "name"), ("updated", "updated"), ("created", "created"))
    )

    class Meta:
        model = Bootstrap
        fields = ["q"]

    def search(self, queryset, name, value):
        # Parameters are searched as text so "site-1094" finds the bootstrap that sets it.
        return queryset.filter(Q(name__icontains=value) | Q(parameters__icontains=value))


class TokenFilterSet(django_filters.FilterSet):
    """Shared by the Tokens page and GET /admin/api/v1/tokens."""

    q = django_filters.CharFilter(method="search", label="Search")
    appId = django_filters.ChoiceFilter(field_name="app_id", choices=AppId.choices)
    bootstrap = django_filters.CharFilter(field_name="bootstrap__name")
    revoked = TrueFalseFilter(help_text="true or false; empty: either.")
    ordering = StableOrderingFilter(
        fields=(
            ("value", "token"),
            ("app_id", "appId"),
            ("bootstrap__name", "bootstrap"),
            ("description", "description"),
            ("redemption_count", "redemptions"),
            ("last_redeemed", "lastRedeemed"),
            ("updated", "updated"),
        )
    )

    class Meta:
        model = Token
        fields = ["q", "appId", "bootstrap", "revoked"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(value__icontains=value)
            | Q(description__icontains=value)
            | Q(bootstrap__name__icontains=value)
        )
