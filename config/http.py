"""What our HTTP clients of external systems share."""

import httpx

# Enough of an error page to explain it without flooding an Event or a log line.
ERROR_TEXT_LIMIT = 300


def error_text(response: httpx.Response) -> str:
    """The other side's own explanation: its JSON error field, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if isinstance(data.get(key), str) and data[key].strip():
                return data[key].strip()[:ERROR_TEXT_LIMIT]
    try:
        text = response.text
    except UnicodeDecodeError:
        return ""
    return " ".join(text.split())[:ERROR_TEXT_LIMIT]
