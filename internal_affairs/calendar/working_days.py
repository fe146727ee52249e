"""Working days: China's official calendar, administrator overrides, and honest estimates.

The official calendar comes from ``chinese_calendar`` (``chinesecalendar`` on PyPI), which knows
the holidays and make-up working days (调休) the State Council has published. Administrators may
override any date (an agency closed for a typhoon, a year the library does not know yet); an
override always wins. For a date in a year the library does not know and no override covers,
the calendar falls back to "Monday to Friday are working days" and says so: every counting
method has a variant that returns the years it had to estimate.

Everything here is pure: no clock, no database. Callers pass dates and instants in.

Conventions
-----------
- :meth:`WorkCalendar.working_days_between` counts inclusively. A period that starts in the
  afternoon (``start_half="pm"``) counts half of its first day; a period that ends in the
  morning (``end_half="am"``) counts half of its last day. Non-working days count nothing.
- :meth:`WorkCalendar.add_working_days` computes a due time the way a 承诺时限 is read:
  "within N working days of submission" — the day of the instant itself is not counted (期间开始之日
  不计算在内) and the time limit runs out at the end of office hours (``day_end``, 17:30 by
  default) on the Nth working day after it. A half day (N = k + 0.5) runs out at
  ``half_day_end`` (12:00) of working day k + 1. The result keeps the instant's ``tzinfo``:
  pass an aware datetime in the district's zone (Asia/Shanghai) and the wall-clock times above
  are local.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Literal

import chinese_calendar

__all__ = [
    "WorkCalendar",
    "DayInfo",
    "WorkingDayCount",
    "DueTime",
    "CalendarError",
    "Half",
    "library_known_years",
]

Half = Literal["am", "pm"]

_HALF = Decimal("0.5")
_ONE = Decimal(1)
_ZERO = Decimal(0)
_DAY = _dt.timedelta(days=1)


class CalendarError(ValueError):
    """A calendar question was asked with arguments that make no sense (reversed range, n <= 0)."""

    code = "calendar_invalid"


@cache
def library_known_years() -> range:
    """The years ``chinese_calendar`` has published data for, as a ``range`` (inclusive of both ends)."""
    years = [d.year for d in chinese_calendar.holidays] + [d.year for d in chinese_calendar.workdays]
    return range(min(years), max(years) + 1)


@cache
def _official_is_workday(day: _dt.date) -> bool:
    return bool(chinese_calendar.is_workday(day))


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One date: whether it is a working day and where that answer came from.

    ``source`` is ``"override"`` (an administrator said so), ``"official"`` (the published
    calendar) or ``"estimated"`` (a year the library does not know: weekends only).
    """

    date: _dt.date
    working: bool
    source: Literal["override", "official", "estimated"]

    @property
    def estimated(self) -> bool:
        """True when the answer is a weekends-only guess."""
        return self.source == "estimated"


@dataclass(frozen=True, slots=True)
class WorkingDayCount:
    """A number of working days, with the years that had to be estimated to count them."""

    days: Decimal
    estimated_years: tuple[int, ...] = ()

    @property
    def estimated(self) -> bool:
        """True when any counted date lies in an estimated year."""
        return bool(self.estimated_years)


@dataclass(frozen=True, slots=True)
class DueTime:
    """A due time, with the years that had to be estimated to compute it."""

    at: _dt.datetime
    estimated_years: tuple[int, ...] = ()

    @property
    def estimated(self) -> bool:
        """True when any date walked over lies in an estimated year."""
        return bool(self.estimated_years)


def _as_date(value: _dt.date | _dt.datetime, name: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise CalendarError(f"{name} must be a date, not {type(value).__name__}")


def _check_half(value: object, name: str) -> None:
    if value not in (None, "am", "pm"):
        raise CalendarError(f"{name} must be 'am', 'pm' or None, not {value!r}")


def _as_days(n: object) -> Decimal:
    if isinstance(n, bool) or not isinstance(n, (int, float, Decimal)):
        raise CalendarError(f"a number of working days must be a number, not {type(n).__name__}")
    value = Decimal(n)
    if not value.is_finite() or value <= 0:
        raise CalendarError(f"a number of working days must be positive, not {n!r}")
    if (value / _HALF) % 1 != 0:
        raise CalendarError(f"working days are counted in half days, not {n!r}")
    return value


@dataclass(frozen=True)
class WorkCalendar:
    """The working-day calendar of one district.

    ``overrides`` maps dates to ``True`` (a working day) or ``False`` (a day off); it wins over
    the published calendar and over the weekends-only estimate. ``day_end`` and ``half_day_end``
    are the local times at which a full and a half working day run out.
    """

    overrides: Mapping[_dt.date, bool] = field(default_factory=dict, hash=False)
    day_end: _dt.time = _dt.time(17, 30)
    half_day_end: _dt.time = _dt.time(12, 0)

    def __post_init__(self) -> None:
        frozen: dict[_dt.date, bool] = {}
        for key, value in dict(self.overrides).items():
            if isinstance(key, _dt.datetime) or not isinstance(key, _dt.date):
                raise CalendarError(f"override keys must be dates, not {key!r}")
            if not isinstance(value, bool):
                raise CalendarError(f"override for {key.isoformat()} must be True or False, not {value!r}")
            frozen[key] = value
        object.__setattr__(self, "overrides", MappingProxyType(frozen))

    @property
    def known_years(self) -> range:
        """The years the published calendar covers."""
        return library_known_years()

    def is_known(self, year: int) -> bool:
        """True when the published calendar covers ``year`` (otherwise it is estimated)."""
        return year in library_known_years()

    def day_info(self, day: _dt.date) -> DayInfo:
        """Whether ``day`` is a working day, and whether the answer is an override, official or estimated."""
        day = _as_date(day, "day")
        override = self.overrides.get(day)
        if override is not None:
            return DayInfo(day, override, "override")
        if day.year in library_known_years():
            return DayInfo(day, _official_is_workday(day), "official")
        return DayInfo(day, day.weekday() < 5, "estimated")

    def is_working_day(self, day: _dt.date) -> bool:
        """True when ``day`` is a working day (override, else official calendar, else Monday–Friday)."""
        day = _as_date(day, "day")
        override = self.overrides.get(day)
        if override is not None:
            return override
        if day.year in library_known_years():
            return _official_is_workday(day)
        return day.weekday() < 5

    def _is_estimated(self, day: _dt.date) -> bool:
        return day not in self.overrides and day.year not in library_known_years()

    def count_working_days(
        self,
        start: _dt.date,
        end: _dt.date,
        start_half: Half | None = None,
        end_half: Half | None = None,
    ) -> WorkingDayCount:
        """Working days from ``start`` to ``end`` inclusive, with the estimated years.

        ``start_half="pm"`` counts half of the first day, ``end_half="am"`` half of the last day
        ("am" at the start and "pm" at the end mean the whole day, like None).

        Raises :class:`CalendarError` when ``end`` is before ``start``, when a one-day period
        starts in the afternoon and ends in the morning, or for a malformed half.
        """
        start = _as_date(start, "start")
        end = _as_date(end, "end")
        _check_half(start_half, "start_half")
        _check_half(end_half, "end_half")
        if end < start:
            raise CalendarError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        if start == end and start_half == "pm" and end_half == "am":
            raise CalendarError("a one-day period cannot start in the afternoon and end in the morning")
        total = _ZERO
        estimated: set[int] = set()
        day = start
        while day <= end:
            if self._is_estimated(day):
                estimated.add(day.year)
            if self.is_working_day(day):
                share = _ONE
                if day == start and start_half == "pm":
                    share -= _HALF
                if day == end and end_half == "am":
                    share -= _HALF
                total += share
            day += _DAY
        return WorkingDayCount(total, tuple(sorted(estimated)))

    def working_days_between(
        self,
        start: _dt.date,
        end: _dt.date,
        start_half: Half | None = None,
        end_half: Half | None = None,
    ) -> Decimal:
        """Working days from ``start`` to ``end`` inclusive; see :meth:`count_working_days`.

        Raises :class:`CalendarError` as :meth:`count_working_days` does.
        """
        return self.count_working_days(start, end, start_half, end_half).days

    def due_at(self, instant: _dt.datetime, n: int | Decimal) -> DueTime:
        """The time ``n`` working days after ``instant`` runs out, with the estimated years.

        The instant's own day never counts; the due time is ``day_end`` of the Nth working day
        after it, or ``half_day_end`` of working day k + 1 when ``n`` is k + 0.5. The result has
        the instant's ``tzinfo``.

        Raises :class:`CalendarError` when ``n`` is not a positive multiple of 0.5 or
        ``instant`` is not a datetime.
        """
        if not isinstance(instant, _dt.datetime):
            raise CalendarError(f"instant must be a datetime, not {type(instant).__name__}")
        days = _as_days(n)
        whole = int(days)
        half = days != whole
        needed = whole + 1 if half else whole
        estimated: set[int] = set()
        day = instant.date()
        while needed:
            day += _DAY
            if self._is_estimated(day):
                estimated.add(day.year)
            if self.is_working_day(day):
                needed -= 1
        clock = self.half_day_end if half else self.day_end
        return DueTime(_dt.datetime.combine(day, clock, tzinfo=instant.tzinfo), tuple(sorted(estimated)))

    def add_working_days(self, instant: _dt.datetime, n: int | Decimal) -> _dt.datetime:
        """The due time ``n`` working days after ``instant``; see :meth:`due_at` for the convention.

        Raises :class:`CalendarError` as :meth:`due_at` does.
        """
        return self.due_at(instant, n).at

    def next_working_day(self, day: _dt.date) -> _dt.date:
        """The first working day strictly after ``day``."""
        day = _as_date(day, "day") + _DAY
        while not self.is_working_day(day):
            day += _DAY
        return day

    def estimated_years(self, start: _dt.date, end: _dt.date) -> tuple[int, ...]:
        """The years between ``start`` and ``end`` (inclusive) whose answers would be estimated.

        A year counts when at least one of its dates in the range has no override and the
        published calendar does not cover it.
        """
        start = _as_date(start, "start")
        end = _as_date(end, "end")
        if end < start:
            raise CalendarError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        years: list[int] = []
        for year in range(start.year, end.year + 1):
            if year in library_known_years():
                continue
            first = max(start, _dt.date(year, 1, 1))
            last = min(end, _dt.date(year, 12, 31))
            span = (last - first).days + 1
            covered = sum(1 for d in self.overrides if first <= d <= last)
            if covered < span:
                years.append(year)
        return tuple(years)
