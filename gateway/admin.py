"""Support's admin for devices: staff look, and mark devices obsolete (which releases
their licenses through gateway.services.devices)."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin import REFUSALS, ReadOnlyAdmin, acts_as_staff, refusal_text
from devices.models import Device
from gateway.services.devices import device_obsolete


@admin.action(description="Mark obsolete", permissions=["obsolete"])
def mark_obsolete(modeladmin, request, queryset):
    """Mark each selected device obsolete through the service (which releases its
    licenses and writes an Event)."""
    done = 0
    for device in queryset.order_by("pk"):
        try:
            device_obsolete(device=device, user=request.user)
        except REFUSALS as exc:
            modeladmin.message_user(request, f"{device}: {refusal_text(exc)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} device(s) marked obsolete.", messages.SUCCESS)


# Registered here rather than in devices/admin.py: its action calls provisioning.services,
# and devices sits below provisioning in the app order.
@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Devices appear by redeeming a token or through direct add in the portal and API;
    here staff only look, and mark them obsolete."""

    list_display = [
        "device_id",
        "customer",
        "state",
        "kind",
        "model",
        "app_id",
        "app_version",
        "site",
        "site_status",
        "last_checkin",
    ]
    list_filter = ["state", "kind", "site_status", "customer"]
    search_fields = ["device_id"]
    list_select_related = ["customer", "site"]
    show_full_result_count = False
    # Newest first: the primary key is an index every page can walk, among millions.
    ordering = ["-pk"]
    exclude = ["password"]
    actions = [mark_obsolete]

    def has_obsolete_permission(self, request) -> bool:
        return acts_as_staff(request)
