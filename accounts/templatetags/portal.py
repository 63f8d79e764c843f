"""Template helpers shared by every list page: sortable headers and paging links."""

from django import template
from django.utils.html import format_html

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
