import django_filters
from django.db.models import Q

from accounts.filters import StableOrderingFilter
from reports.models import Event, History, HistoryAction, HistoryResult, Severity


class HistoryFilterSet(django_filters.FilterSet):
    """Shared by the History page and the history API."""

    q = django_filters.CharFilter(method="search", label="Token or device ID")
    action = django_filters.ChoiceFilter(choices=HistoryAction.choices)
    result = django_filters.ChoiceFilter(choices=HistoryResult.choices)
    ordering = StableOrderingFilter(
        fields=(
            ("created", "created"),
            ("action", "action"),
            ("token", "token"),
            ("app_id", "appId"),
            ("device_id", "deviceId"),
            ("result", "result"),
        )
    )

    class Meta:
        model = History
        fields = ["q", "action", "result"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(token__icontains=value) | Q(device_id__icontains=value))


class EventFilterSet(django_filters.FilterSet):
    """Shared by the Events page and the events API."""

    q = django_filters.CharFilter(method="search", label="Search")
    type = django_filters.CharFilter()
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    user = django_filters.CharFilter(field_name="username")
    ordering = StableOrderingFilter(
        fields=(
            ("created", "created"),
            ("username", "user"),
            ("type", "type"),
            ("severity", "severity"),
            ("info", "info"),
        )
    )

    class Meta:
        model = Event
        fields = ["q", "type", "severity", "user"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(info__icontains=value) | Q(username__icontains=value))
