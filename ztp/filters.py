import django_filters
from django.db.models import Q

from accounts.filters import StableOrderingFilter
from ztp.models import ZtpPhone


class ZtpPhoneFilterSet(django_filters.FilterSet):
    """The ZTP phone list (one vendor's registered MACs of the customer; the view picks the
    vendor)."""

    q = django_filters.CharFilter(method="search", label="Search")
    ordering = StableOrderingFilter(
        fields=(("mac", "mac"), ("registered_at", "registered"), ("registered_by", "by"))
    )

    class Meta:
        model = ZtpPhone
        fields = ["q"]

    def search(self, queryset, name, value):
        # "00:04:13:2a" finds 0004132A…: the separators people type are ignored.
        digits = "".join(c for c in value if c not in ":-. ").upper()
        return queryset.filter(Q(mac__contains=digits) | Q(registered_by__icontains=value))
