"""The one rule for JSON that people and scripts send us (bootstrap parameters, import
files): strict JSON that PostgreSQL's jsonb can store and that we can send back.

Python's json module is lenient where that matters: it reads NaN and Infinity, turns
1e999 into an infinite float, recurses until RecursionError on deep nesting, and keeps NUL
characters and lone surrogates, which jsonb or the UTF-8 encoder refuse later. Where it is
strict it is strict the wrong way: an integer of more than 4,300 digits raises a bare
ValueError (the interpreter's guard against quadratic int parsing), which no caller
expects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

# Deeper than any real configuration, far below the interpreter's recursion limit.
MAX_DEPTH = 64
# Longer than any real whole number (jsonb keeps it exactly, JavaScript clients not even
# past 16 digits), far below the interpreter's own limit of 4,300.
MAX_INT_DIGITS = 1000


class JSONTextError(ValueError):
    """Why the text is not acceptable JSON; the message is for people."""


def json_parse(text: str, *, object_pairs_hook: Callable | None = None) -> Any:
    """Parse `text` as strict JSON; JSONTextError says why it is refused. An
    `object_pairs_hook` builds the objects (json.loads's); what it raises goes through."""
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=object_pairs_hook,
        )
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
    MAX_DEPTH, a number that is not finite or has more than MAX_INT_DIGITS digits, or text
    holding NUL or a lone surrogate. A problem inside an object or list names where it is
    (`a.b[2]: …`)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        problem = None
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = _text_error(key) if isinstance(key, str) else None
                    if problem:
                        return f"key {key[:40]!r}: {problem}"
                    stack.append((child, depth + 1, f"{where}.{key[:40]}" if where else key[:40]))
            else:
                stack.extend(
                    (child, depth + 1, f"{where}[{index}]") for index, child in enumerate(item)
                )
        elif isinstance(item, str):
            problem = _text_error(item)
        elif isinstance(item, _LongInt):
            problem = f"a whole number of {item.digits:,} digits (at most {MAX_INT_DIGITS:,})"
        elif isinstance(item, int) and not isinstance(item, bool):
            if item.bit_length() > _MAX_INT_BITS:
                problem = f"a whole number of more than {MAX_INT_DIGITS:,} digits"
        elif isinstance(item, float) and not math.isfinite(item):
            problem = f"{item} is not a JSON number"
        if problem:
            return f"{where}: {problem}" if where else problem
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


# Any int this long has more than MAX_INT_DIGITS digits (10**1000 needs 3,322 bits).
_MAX_INT_BITS = math.ceil(MAX_INT_DIGITS * math.log2(10))


class _LongInt:
    """Stands in for an integer too long to convert, so that json_value_error can say
    where it is."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _bounded_int(text: str) -> int | _LongInt:
    digits = len(text.lstrip("-"))
    return _LongInt(digits) if digits > MAX_INT_DIGITS else int(text)
