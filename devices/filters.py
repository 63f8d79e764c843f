import django_filters
from django.db.models import Q

from accounts.filters import StableOrderingFilter
from devices.models import Device, DeviceState, Site, SiteStatus
from reports.models import AppId

# "No site status" needs a name of its own: an empty value means "no filter".
SITE_STATUS_NONE = "none"
SITE_STATUS_CHOICES = [
    *((value, label) for value, label in SiteStatus.choices if value),
    (SITE_STATUS_NONE, "No site status"),
]


class DeviceFilterSet(django_filters.FilterSet):
    """Shared by the Devices page, a site's device list and GET /admin/api/v1/devices.

    Without `ordering` the newest activity comes first (the guide's Devices screen), which
    the (customer, -updated, id) index serves."""

    q = django_filters.CharFilter(method="search", label="Device filter")
    state = django_filters.ChoiceFilter(choices=DeviceState.choices)
    site = django_filters.CharFilter(field_name="site__name", label="Site name")
    siteStatus = django_filters.ChoiceFilter(
        method="filter_site_status", choices=SITE_STATUS_CHOICES, label="Site status"
    )
    appId = django_filters.ChoiceFilter(field_name="app_id", choices=AppId.choices, label="App")
    ordering = StableOrderingFilter(
        fields=(
            ("state", "state"),
            ("device_id", "deviceId"),
            ("model", "model"),
            ("os", "os"),
            ("app_version", "appVersion"),
            ("site__name", "site"),
            ("site_assigned_at", "assigned"),
            ("site_status", "siteStatus"),
            ("updated", "updated"),
            ("created", "created"),
        )
    )

    class Meta:
        model = Device
        fields = ["q", "state", "site", "siteStatus", "appId"]

    def __init__(self, data=None, queryset=None, **kwargs):
        if queryset is not None:
            queryset = queryset.order_by("-updated")
        super().__init__(data, queryset, **kwargs)

    def search(self, queryset, name, value):
        return queryset.filter(device_id__icontains=value.strip())

    def filter_site_status(self, queryset, name, value):
        if value == SITE_STATUS_NONE:
            return queryset.filter(site_status=SiteStatus.NONE)
        return queryset.filter(site_status=value)


class SiteFilterSet(django_filters.FilterSet):
    """Shared by the Sites page (and a sites API when one is added). The queryset must be
    annotated with `device_count` to sort by it."""

    q = django_filters.CharFilter(method="search", label="Name")
    ordering = StableOrderingFilter(
        fields=(
            ("name", "name"),
            ("server_name", "serverName"),
            ("device_count", "devices"),
            ("synced_at", "syncedAt"),
        )
    )

    class Meta:
        model = Site
        fields = ["q"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(server_name__icontains=value))
