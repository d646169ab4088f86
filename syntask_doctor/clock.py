"""This machine's clock against servers' ``Date`` headers, and what an offset breaks."""

from __future__ import annotations

import datetime
from email.utils import parsedate_to_datetime

WARN_SECONDS = 30.0
FAIL_SECONDS = 300.0
RESOLUTION = 1.0
"""``Date`` carries whole seconds: an offset below this says nothing."""


def offset(date_header: str | None, received: float | None) -> float | None:
    """Seconds this machine is ahead of the server (negative: behind); ``None`` if unreadable."""
    if not date_header or received is None:
        return None
    try:
        server = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=datetime.UTC)
    return received - server.timestamp()


def duration(seconds: float) -> str:
    """A span in the largest units that read naturally: ``3 years 12 days``, ``7 min 12 s``."""
    value = abs(seconds)
    units = (("year", 365 * 86400), ("day", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts = []
    for name, size in units:
        count = int(value // size)
        if count:
            plural = "s" if count > 1 and name in ("year", "day") else ""
            parts.append(f"{count} {name}{plural}")
            value -= count * size
        if len(parts) == 2:
            break
    return " ".join(parts) or f"{abs(seconds):.1f} s"


def direction(seconds: float) -> str:
    return "ahead of" if seconds > 0 else "behind"
