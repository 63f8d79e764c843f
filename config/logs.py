"""Log records as JSON lines, each carrying the ID of the request it was written for.

LOGGING (config/settings.py) and gunicorn's own logger (config/gunicorn.py) use
`JsonFormatter`; `RequestIdFilter` copies `request_id` (set for the length of a request by
config.observability) onto every record. A record's extra fields are kept when they are
plain values (text, numbers, booleans): anything else is left out rather than turned into
text, because Django passes the request object along, and its text shows the query
string, which may carry a token.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

# The ID of the request this thread is answering ("" outside a request).
request_id: ContextVar[str] = ContextVar("request_id", default="")

# What every LogRecord has (and what Formatter.format adds): not extra fields.
_BARE_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", (), None)
_RECORD_FIELDS = frozenset({*vars(_BARE_RECORD), "message", "asctime", "taskName"})
_PLAIN = (str, int, float, bool, type(None))


class RequestIdFilter(logging.Filter):
    """Stamp the current request's ID on every record (a handler filter, so it sees the
    records of every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            current = request_id.get()
            if current:
                record.request_id = current
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and isinstance(value, _PLAIN):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


_PHONE_FILES = re.compile(r"^/phones/[^/]*")


def path_for_log(path: str) -> str:
    """A request path as logs may keep it: the secret of a phone file URL
    (`/phones/<secret>/…`, the phones' credential) replaced, even when the path did not
    resolve."""
    return _PHONE_FILES.sub("/phones/<secret>", path)
