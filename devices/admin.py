"""Support's view of PTT Pro sites. Sites come from the PTT Pro server sync, so they are
read-only here. The Device admin is in provisioning/admin.py (its action needs
provisioning)."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from devices.models import Site


@admin.register(Site)
class SiteAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "server_name", "synced_at"]
    list_filter = ["server_name", "customer"]
    search_fields = ["name", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
    ordering = ["customer__name", "name", "pk"]
