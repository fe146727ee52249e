"""Pure rules of notification: quiet hours and the retry backoff (no session, no clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import LOCAL_OFFSET

__all__ = ["DEFAULT_QUIET", "quiet_until", "backoff", "parse_hhmm", "format_hhmm"]

DEFAULT_QUIET = (22 * 60, 7 * 60)


def quiet_until(now: datetime, start: int | None, end: int | None) -> datetime | None:
    """The naive-UTC instant the quiet hours containing ``now`` (naive UTC) end, or None when
    ``now`` is outside them. ``start``/``end`` are minutes after local midnight; ``start`` >
    ``end`` spans midnight; equal or missing means no quiet hours."""
    if start is None or end is None or start == end:
        return None
    local = now + LOCAL_OFFSET
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    ends = midnight + timedelta(minutes=end)
    if ends <= local:
        ends += timedelta(days=1)
    return ends - LOCAL_OFFSET


def backoff(attempts: int, *, base_seconds: int = 30, cap_seconds: int = 6 * 3600) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, … at most 6 h."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def parse_hhmm(value: str) -> int | None:
    """``"22:30"`` → 1350; None for anything else."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return None
    hh, mm = value[:2], value[3:]
    if not (hh.isdigit() and mm.isdigit()):
        return None
    h, m = int(hh), int(mm)
    return h * 60 + m if h < 24 and m < 60 else None


def format_hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"
