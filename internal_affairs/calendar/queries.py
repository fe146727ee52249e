"""Reads of the working-day calendar: the official calendar with the overrides, kept per process."""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from .models import CalendarOverride
from .working_days import WorkCalendar

__all__ = ["CALENDAR_TTL", "get_calendar", "forget_calendar"]

CALENDAR_TTL = 30.0
"""Seconds a process keeps the administrators' calendar overrides (they change a few times a year;
a change made in this process is seen at once, one made by another process within this time)."""


def get_calendar() -> WorkCalendar:
    """The official calendar with the administrators' overrides."""
    cache = current_app.extensions.setdefault("ia.calendar", {})
    hit = cache.get("calendar")
    if hit is not None and time.monotonic() - hit[0] < CALENDAR_TTL:
        return hit[1]
    overrides = dict(db.session.execute(select(CalendarOverride.day, CalendarOverride.is_working_day)).all())
    calendar = WorkCalendar(overrides)
    cache["calendar"] = (time.monotonic(), calendar)
    return calendar


def forget_calendar() -> None:
    """Drop this process's copy of the overrides (after an administrator changed them)."""
    current_app.extensions.get("ia.calendar", {}).clear()
