"""The one rule for JSON that people and scripts send us (bootstrap parameters, import
files): strict JSON that PostgreSQL's jsonb can store and that we can send back.

Python's json module is lenient where that matters: it reads NaN and Infinity, turns
1e999 into an infinite float, recurses until RecursionError on deep nesting, and keeps NUL
characters and lone surrogates, which jsonb or the UTF-8 encoder refuse later.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Deeper than any real configuration, far below the interpreter's recursion limit.
MAX_DEPTH = 64


class JSONTextError(ValueError):
    """Why the text is not acceptable JSON; the message is for people."""


def json_parse(text: str) -> Any:
    """Parse `text` as strict JSON; JSONTextError says why it is refused."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JSONTextError(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JSONTextError(f"nested more than {MAX_DEPTH} levels deep") from None
    problem = json_value_error(value)
    if problem:
        raise JSONTextError(problem)
    return value


def json_value_error(value: Any) -> str | None:
    """Why an already parsed value cannot be stored as JSON, or None: nesting deeper than
    MAX_DEPTH, a number that is not finite, or text holding NUL or a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = _text_error(key) if isinstance(key, str) else None
                    if problem:
                        return f"key {key[:40]!r}: {problem}"
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            problem = _text_error(item)
            if problem:
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{item} is not a JSON number"
    return None


def _text_error(text: str) -> str | None:
    if "\x00" in text:
        return "text may not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text may not contain a lone surrogate (\\ud800-\\udfff)"
    return None


def _reject_constant(name: str) -> None:
    raise JSONTextError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONTextError(f"{text} is out of range for a JSON number")
    return value
