"""The one place that reads the wall clock; services take ``now`` as a parameter."""

from datetime import datetime, timezone

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
