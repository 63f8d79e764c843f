"""Links of the History and Events pages: sortable headers and keyset paging links.

Both drop the page's cursor: a new sort, like a new filter, starts from the first page.
"""

from django import template
from django.utils.html import format_html

register = template.Library()

# Query parameters that belong to one request, never to a link.
_TRANSIENT = ("cursor", "live", "format")


def _query(request, **changes):
    query = request.GET.copy()
    for name in _TRANSIENT:
        query.pop(name, None)
    for name, value in changes.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    return query.urlencode()


@register.simple_tag(takes_context=True)
def report_sort_header(context, label: str, field: str, sortable: bool = True):
    """A column header that sorts by `field` (newest first by default), toggling its
    direction. Not a link where the list cannot sort by it."""
    request = context["request"]
    if not sortable:
        return format_html("<th>{}</th>", label)
    current = request.GET.get("ordering", "") or "-created"
    if current == field:
        target, state, arrow = f"-{field}", "ascending", " ▲"
    elif current == f"-{field}":
        target, state, arrow = field, "descending", " ▼"
    else:
        target, state, arrow = field, "none", ""
    if target == "-created":
        target = ""  # the default order: a shorter address
    return format_html(
        '<th aria-sort="{}"><a href="?{}">{}{}</a></th>',
        state,
        _query(request, ordering=target),
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def report_page_url(context, cursor: str = "") -> str:
    """This list's address at `cursor` (the first page without one)."""
    query = _query(context["request"], cursor=cursor)
    return f"?{query}" if query else "?"


@register.simple_tag(takes_context=True)
def report_csv_url(context) -> str:
    """This list's rows (every page of them) as CSV."""
    return f"?{_query(context['request'], format='csv')}"


@register.filter
def thousands(number) -> str:
    """12345 → "12,345"."""
    return f"{number:,}" if isinstance(number, int) else str(number)
