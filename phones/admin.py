"""Support's admin for desk phones: read-only. Categories, codes and jobs are the
customer's, changed in the portal or the API through phones.services."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from phones.models import (
    AutoProvisioning,
    Category,
    ConfigJob,
    ProvisioningCode,
    Rollout,
    SoftwareJob,
)

# Read-only for support: categories, codes and jobs are the customer's, changed in the
# portal or the API through phones.services.


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "is_provisioning", "bootstrap", "updated"]
    list_filter = ["is_provisioning", "customer"]
    search_fields = ["name", "customer__name", "customer__slug"]
    list_select_related = ["customer", "bootstrap"]


@admin.register(ProvisioningCode)
class ProvisioningCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "customer", "category", "user", "state_label", "expires_at", "device"]
    list_filter = [("used_at", admin.EmptyFieldListFilter), "customer"]
    search_fields = ["code", "customer__name", "user__username", "device__device_id"]
    list_select_related = ["customer", "category", "user", "device"]
    date_hierarchy = "created"
    show_full_result_count = False

    @admin.display(description="state")
    def state_label(self, obj: ProvisioningCode) -> str:
        return obj.get_state_display()


@admin.register(Rollout)
class RolloutAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "app_id", "created_by", "created"]
    list_filter = ["customer"]
    list_select_related = ["customer", "category", "created_by"]


@admin.register(SoftwareJob)
class SoftwareJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "description", "created"]
    list_filter = ["customer"]
    search_fields = ["description", "category__name", "customer__name"]
    list_select_related = ["customer", "category"]


@admin.register(ConfigJob)
class ConfigJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "config_type", "description", "created"]
    list_filter = ["config_type", "customer"]
    search_fields = ["config_type", "description", "category__name", "customer__name"]
    list_select_related = ["customer", "category"]


@admin.register(AutoProvisioning)
class AutoProvisioningAdmin(ReadOnlyAdmin):
    # The token's hash is never shown; the hint tells tokens apart.
    list_display = ["customer", "enabled", "token_hint", "token_set_at"]
    fields = ["customer", "enabled", "token_hint", "token_set_at"]
    list_select_related = ["customer"]
