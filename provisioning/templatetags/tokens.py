"""Template helpers for the Tokens and Bootstraps pages: QR codes and JSON display."""

from __future__ import annotations

import json

import segno
from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def qr_svg(text: str, scale: int = 2, fluid: bool = False) -> str:
    """`text` as a QR code, drawn on the server as inline SVG (no script, no image request).

    `fluid` drops the fixed size in favour of a viewBox, so CSS decides how large it is
    (the printable page)."""
    qr = segno.make(text, error="m")
    # segno writes only path data and the escaped title, never `text` as markup.
    svg = qr.svg_inline(scale=scale, svgclass="qr", title=f"QR code: {text}", omitsize=fluid)
    return mark_safe(svg)  # noqa: S308


@register.filter
def json_compact(value) -> str:
    """One line, as the reference shows a bootstrap's parameters in a table."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@register.filter
def json_pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@register.filter
def breakable(value) -> str:
    """Let long IDs such as WFC_CENTRAL_SERVICE_ANDROID wrap after their underscores."""
    return mark_safe(escape(value).replace("_", "_<wbr>"))  # noqa: S308
