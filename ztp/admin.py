"""Support's view of each customer's ZTP wiring. Read-only: the card and `manage.py ztp` run
the actions (through ztp.services, with the lease and the Events). The encrypted credentials
and the lease token are never shown."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from ztp.models import ZtpAccount, ZtpPhone


@admin.register(ZtpAccount)
class ZtpAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "vendor",
        "status",
        "company_id",
        "key_id",
        "credentials_set_at",
        "checked_at",
        "last_action",
        "last_action_at",
    ]
    list_filter = ["vendor", "status"]
    search_fields = ["customer__name", "customer__slug", "company_id", "key_id"]
    list_select_related = ["customer"]
    fields = [
        "customer",
        "vendor",
        "status",
        "company_id",
        "key_id",
        "credentials_set_at",
        "checked_at",
        "last_error",
        "drift",
        "last_action",
        "last_action_at",
        "action",
        "action_started_at",
        "updated",
    ]


@admin.register(ZtpPhone)
class ZtpPhoneAdmin(ReadOnlyAdmin):
    list_display = ["mac", "vendor", "customer", "registered_at", "registered_by"]
    list_filter = ["vendor"]
    search_fields = ["mac", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
