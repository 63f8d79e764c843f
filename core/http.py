"""What our HTTP clients of external systems share."""

import re
from collections.abc import Callable, Collection
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


def sent(
    send: Callable[[], httpx.Response],
    *,
    system: str,
    where: str,
    timeout: float,
    unavailable: type[Exception],
) -> httpx.Response:
    """`send()`'s answer; no answer in time and no connection raise `unavailable` (worth
    retrying later), naming `system` and the request (`where`, e.g. "GET /sites")."""
    try:
        return send()
    except httpx.TimeoutException:
        raise unavailable(f"{system} did not answer {where} within {timeout:g} s") from None
    except httpx.TransportError as exc:
        raise unavailable(
            f"{system} cannot be reached for {where} ({exc or type(exc).__name__})"
        ) from None


def checked(
    response: httpx.Response,
    *,
    system: str,
    where: str,
    setting: str,
    unavailable: type[Exception],
    rejected: type[Exception],
    ok: Collection[int] = (),
    refusal: Callable[[int, str], Exception | None] | None = None,
) -> httpx.Response:
    """The answer when it is a success (2xx, or a status in `ok`). Otherwise the one way
    every external system's failures sort: 429 and 5xx raise `unavailable` (worth
    retrying later); a redirect raises `rejected` naming the `setting` to check; another
    4xx raises what `refusal(status, message)` gives, else `rejected`. Each error carries
    `status` and the system's own explanation (error_text), credentials cut out."""
    status = response.status_code
    if 200 <= status < 300 or status in ok:
        return response
    detail = error_text(response)
    message = f"{system} answered {status} to {where}"
    if detail:
        message = f"{message}: {detail}"
    if status == 429 or status >= 500:
        raise unavailable(message, status=status)
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        raise rejected(f"{message}; redirected to {location!r}: check {setting}", status=status)
    raise (refusal and refusal(status, message)) or rejected(message, status=status)
