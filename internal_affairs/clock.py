"""The one place that reads the wall clock, and the district's time zone; services take ``now``
as a parameter."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

__all__ = ["utcnow", "LOCAL_TZ", "LOCAL_OFFSET", "local_day", "local_midnight"]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""The district's zone: columns hold naive UTC, pages and calendar days are local."""
LOCAL_OFFSET = timedelta(hours=8)
"""Asia/Shanghai has kept UTC+8 without daylight saving since 1991: pure code may add it."""


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_day(instant: datetime) -> date:
    """The local calendar day of a naive UTC instant."""
    return instant.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).date()


def local_midnight(day: date) -> datetime:
    """The start of the local ``day`` as naive UTC."""
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)
