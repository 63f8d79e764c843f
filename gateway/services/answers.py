"""What a device request came to: the answer every device flow returns."""

from __future__ import annotations

from dataclasses import dataclass

from reports.models import HistoryResult


@dataclass(frozen=True)
class DeviceAnswer:
    """What a device request came to. `result` is its History result: OK, or why it was
    refused (then `detail` says so for people, starting with the field at fault). The
    device API maps results to HTTP answers in one table."""

    result: str
    detail: str = ""
    # Seconds to wait, for a refusal that a later try would not meet (rate limits).
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.result == HistoryResult.OK
