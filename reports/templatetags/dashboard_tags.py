"""The dashboard's tables, written in Python: six months are some 180 rows of up to seven
cells per graph, which a template loop renders several times slower."""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from reports.rollups import Chart

register = template.Library()

NOT_RECORDED = format_html('<span title="{}">&ndash;</span>', "not recorded")


@register.filter
def table_rows(chart: Chart) -> SafeString:
    """The <tr>s of a graph's table: one per day, newest first, a cell per series."""
    return format_html_join(
        "\n",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (
                day.isoformat(),
                format_html_join(
                    "",
                    '<td class="number">{}</td>',
                    ((NOT_RECORDED if value is None else value,) for value in values),
                ),
            )
            for day, values in reversed(chart.rows)
        ),
    )
