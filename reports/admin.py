"""Support's view of History and Events. Devices and services write them; nobody edits
them. Both tables reach millions of rows, so a list page counts at most COUNT_CAP rows
(as the portal's History and Events pages do) and never the whole table."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin
from accounts.views_base import CappedPaginator
from reports.models import Event, EventType, History

COUNT_CAP = 10_000


class CappedCountAdmin(ReadOnlyAdmin):
    date_hierarchy = "created"
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return CappedPaginator(queryset, per_page, orphans, allow_empty_first_page, cap=COUNT_CAP)


@admin.register(History)
class HistoryAdmin(CappedCountAdmin):
    list_display = [
        "created",
        "customer",
        "action",
        "result",
        "token",
        "app_id",
        "device_id",
        "ip_address",
    ]
    list_filter = ["action", "result", "customer"]
    search_fields = ["token", "device_id"]
    list_select_related = ["customer"]


class EventTypeFilter(admin.SimpleListFilter):
    """The documented types (reports.models.EventType), not a DISTINCT over the log."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(value, value) for value in sorted(EventType.values)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(type=self.value())
        return queryset


@admin.register(Event)
class EventAdmin(CappedCountAdmin):
    list_display = ["created", "customer", "username", "type", "severity", "info"]
    list_filter = [EventTypeFilter, "severity", "customer"]
    search_fields = ["info", "username"]
    list_select_related = ["customer", "user"]
