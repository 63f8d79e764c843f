"""What our HTTP clients of external systems share."""

import re
from urllib.parse import urlsplit

import httpx

# Enough of an error page to explain it without flooding an Event or a log line.
ERROR_TEXT_LIMIT = 300


# A query parameter that carries a credential, as is or percent-encoded once
# (token=…, token%3D…): vendors echo the URLs we register in their error texts.
_SECRET_PARAMETER = re.compile(
    r"((?:token|secret|password|key|signature)(?:=|%3D))[^&\s\"'<>]+", re.IGNORECASE
)


def redacted(text: str) -> str:
    """`text` without the values of credential parameters (token=…)."""
    return _SECRET_PARAMETER.sub(r"\1…", text)


def error_text(response: httpx.Response) -> str:
    """The other side's own explanation: its JSON error field, else the start of the
    body; credentials in echoed URLs are cut out (redacted) before it is stored, shown or
    logged."""
    return redacted(_explanation(response))


def _explanation(response: httpx.Response) -> str:
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


def http_url_valid(value: str) -> bool:
    """Whether `value` is an http:// or https:// address of a host, with an optional path
    and no query or fragment: what every configured base URL must be."""
    try:
        url = urlsplit(value)
        return (
            url.scheme in {"http", "https"}
            and bool(url.hostname)
            and url.port != 0
            and not url.query
            and not url.fragment
        )
    except ValueError:  # a bad port or IPv6 literal
        return False
