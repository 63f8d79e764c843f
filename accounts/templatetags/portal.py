"""Template helpers shared by every page: sortable headers, paging links, accessible form
fields and the one way a moment is shown."""

import json

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, label: str, field: str):
    """A column header that sorts by `field`, toggling direction, keeping the search."""
    request = context["request"]
    current = request.GET.get("ordering", "")
    query = request.GET.copy()
    query.pop("page", None)
    if current == field:
        query["ordering"] = f"-{field}"
        state, arrow = "ascending", " ▲"
    elif current == f"-{field}":
        query["ordering"] = field
        state, arrow = "descending", " ▼"
    else:
        query["ordering"] = field
        state, arrow = "none", ""
    return format_html(
        '<th aria-sort="{}"><a href="?{}">{}{}</a></th>', state, query.urlencode(), label, arrow
    )


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    query = context["request"].GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"


@register.filter
def accessible(field):
    """The field's input tied to its help and error text (aria-describedby), and marked
    aria-invalid while it has an error; includes/field.html gives those texts the ids."""
    attrs = {}
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_help")
    if field.errors:
        described_by.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


@register.filter
def when(value, seconds: str = ""):
    """A moment as the portal shows every one: `2026-11-30 00:33` in the current time zone
    (the customer's), in a <time> whose tooltip names the zone and says how long ago
    (or how far ahead) it is. `|when:"s"` adds the seconds (History, Events)."""
    if not value:
        return ""
    local = timezone.localtime(value)
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    delta = timezone.now() - value
    if abs(delta.total_seconds()) < 60:
        relative = "just now"
    elif delta.total_seconds() > 0:
        relative = f"{timesince(value)} ago"
    else:
        relative = f"in {timeuntil(value)}"
    exact = local.strftime("%Y-%m-%d %H:%M:%S")
    zone = local.tzname() or timezone.get_current_timezone_name()
    return format_html(
        '<time datetime="{}" title="{} {} ({})">{}</time>',
        local.isoformat(),
        exact,
        zone,
        relative.replace("\xa0", " "),
        shown,
    )


@register.filter
def json_pretty(value) -> str:
    """Details (an Event's data) as indented JSON, as people read it in the API too."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
