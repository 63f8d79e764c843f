"""Template helpers of the devices app: two-field sort headers for the Devices page and the
direct-addition count shown in the toolbar's customer details."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join

from accounts.permissions import Action, Area, can
from accounts.tenancy import request_customer
from devices.services import direct_additions_this_month as count_direct_additions
from reports.models import AppId

register = template.Library()


@register.simple_tag(takes_context=True)
def direct_additions_this_month(context) -> int | None:
    """Devices added directly this month (they are billed), for those who may add them:
    Super-Admins and staff. None for everyone else, so the template shows nothing.
    One query."""
    request = context.get("request")
    if request is None or not can(request.user, Area.DEVICES, Action.CHANGE):
        return None
    customer = request_customer(request)
    if customer is None:
        return None
    return count_direct_additions(customer=customer)


@register.filter
def app_label(app_id: str) -> str:
    """ "WFC_PRO_ANDROID" → "PTT Pro (Android)"; an app we do not know is shown as sent."""
    return AppId(app_id).label if app_id in AppId.values else app_id


@register.simple_tag(takes_context=True)
def sort_header_pair(context, label: str, field: str, second_label: str, second_field: str):
    """A header of a two-line column (e.g. Updated/Created): each half sorts by its own
    field, toggling direction, keeping the search; as accounts' `sort_header` does for one."""
    request = context["request"]
    current = request.GET.get("ordering", "")
    state = "none"
    links = []
    for text, name in ((label, field), (second_label, second_field)):
        query = request.GET.copy()
        query.pop("page", None)
        arrow = ""
        if current == name:
            query["ordering"] = f"-{name}"
            state, arrow = "ascending", " ▲"
        elif current == f"-{name}":
            query["ordering"] = name
            state, arrow = "descending", " ▼"
        else:
            query["ordering"] = name
        links.append((query.urlencode(), text, arrow))
    return format_html(
        '<th aria-sort="{}">{}</th>',
        state,
        format_html_join(" / ", '<a href="?{}">{}{}</a>', links),
    )
