"""The supervision figures, computed from plain rows: no session, no clock, no request.

Units and conventions (the dashboard and ``GET /api/v1/stats`` say the same):

- Times are **working days** on the district's working-day calendar, counted the way a 承诺时限
  is read: the day a period starts does not count, every working day after it up to and including
  the day it ends does. A case submitted and finished on the same day took 0 working days; one
  submitted on the Friday before a holiday week and finished on the first working day after it
  took 1. Days are Shanghai calendar days of the stored (naive UTC) instants.
- The median is the usual one (the mean of the two middle values for an even count); the p90 is
  the nearest-rank 90th percentile (the ⌈0.9·n⌉-th smallest value).
- A case is *finished* when approved, rejected or completed. *Volume* counts the cases submitted in
  the period; handling time, on-time rate and one-trip rate are over the cases finished in it.
- *On time*: finished no later than its due time (承诺时限, ``case.due_at``); cases without a due
  time are left out of the rate. *One trip*: finished without ever being returned to the
  applicant (``return_count == 0``).
- Overdue now: an open case whose due time has passed; how long is counted in working days from
  the due time's day to today, and each holder's wait from when their task arrived.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median as _median
from typing import Any

from ..calendar.working_days import WorkCalendar

__all__ = ["FINISHED", "LOCAL_OFFSET", "CaseRow", "StepRow", "TaskRow", "RatingRow", "WorkDays", "local_day",
           "median", "p90", "rate", "case_figures", "group_cases", "duration_figures", "group_durations",
           "rating_figures", "group_ratings"]

FINISHED = frozenset({"approved", "rejected", "completed"})
LOCAL_OFFSET = timedelta(hours=8)
"""Asia/Shanghai has kept UTC+8 without daylight saving since 1991."""


def local_day(instant: datetime) -> date:
    """The Shanghai calendar day of a naive UTC instant."""
    return (instant + LOCAL_OFFSET).date()


class WorkDays:
    """Working days elapsed between two instants, answered in constant time per question from a
    running count of working days kept per calendar day (filled in on demand)."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self._start: date | None = None
        self._cumulative: list[int] = []

    def _count(self, day: date) -> int:
        if self._start is None:
            self._start = day - timedelta(days=1)
            self._cumulative = [0]
        if day < self._start:
            head, count = [], 0
            current = day
            while current < self._start:
                head.append(count)
                current += timedelta(days=1)
                count += int(self.calendar.is_working_day(current))
            shift = count
            self._cumulative = head + [c + shift for c in self._cumulative]
            self._start = day
        offset = (day - self._start).days
        while len(self._cumulative) <= offset:
            nxt = self._start + timedelta(days=len(self._cumulative))
            self._cumulative.append(self._cumulative[-1] + int(self.calendar.is_working_day(nxt)))
        return self._cumulative[offset]

    def between_days(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` <= ``start``)."""
        if end <= start:
            return 0
        first = self._count(start)  # the earlier day first: reaching back renumbers what is kept
        return self._count(end) - first

    def between(self, start: datetime, end: datetime) -> int:
        """Working days from the naive UTC instant ``start`` to ``end`` (see the module's conventions)."""
        return self.between_days(local_day(start), local_day(end))


@dataclass(frozen=True, slots=True)
class CaseRow:
    """What the figures need of a case."""

    id: int
    agency_id: int
    matter_type_id: int
    status: str
    submitted_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    return_count: int


@dataclass(frozen=True, slots=True)
class StepRow:
    """A finished step (or a decided task) of a finished case: what it is keyed by, and when it
    started and finished."""

    key: Hashable
    started_at: datetime
    finished_at: datetime


TaskRow = StepRow


@dataclass(frozen=True, slots=True)
class RatingRow:
    """A rating with the keys it is grouped by."""

    case_id: int
    agency_id: int
    matter_type_id: int
    score: int


def median(values: Sequence[int | float]) -> float | None:
    """The median, None for no values."""
    return float(_median(values)) if values else None


def p90(values: Sequence[int | float]) -> float | None:
    """The nearest-rank 90th percentile, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(0.9 * len(ordered))) - 1])


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to four places, None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


def _in(instant: datetime | None, start: datetime, end: datetime) -> bool:
    return instant is not None and start <= instant < end


def case_figures(rows: Iterable[CaseRow], days: WorkDays, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Volume, finished, median and p90 handling time, on-time and one-trip rates of ``rows`` for
    the period ``[start, end)`` (naive UTC)."""
    volume = finished = with_due = on_time = one_trip = 0
    durations: list[int] = []
    for row in rows:
        if _in(row.submitted_at, start, end):
            volume += 1
        if row.status not in FINISHED or not _in(row.finished_at, start, end) or row.submitted_at is None:
            continue
        finished += 1
        durations.append(days.between(row.submitted_at, row.finished_at))
        if row.due_at is not None:
            with_due += 1
            on_time += row.finished_at <= row.due_at
        one_trip += row.return_count == 0
    return {"volume": volume, "finished": finished, "median_days": median(durations), "p90_days": p90(durations),
            "on_time": on_time, "with_due": with_due, "on_time_rate": rate(on_time, with_due),
            "one_trip": one_trip, "one_trip_rate": rate(one_trip, finished)}


def group_cases(rows: Iterable[CaseRow], key: Callable[[CaseRow], Hashable], days: WorkDays, *,
                start: datetime, end: datetime) -> dict[Hashable, dict[str, Any]]:
    """:func:`case_figures` per ``key(row)``."""
    groups: dict[Hashable, list[CaseRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: case_figures(v, days, start=start, end=end) for k, v in groups.items()}


def duration_figures(rows: Iterable[StepRow], days: WorkDays) -> dict[str, Any]:
    """Count, median and p90 working days of steps or tasks."""
    durations = [days.between(r.started_at, r.finished_at) for r in rows]
    return {"count": len(durations), "median_days": median(durations), "p90_days": p90(durations)}


def group_durations(rows: Iterable[StepRow], days: WorkDays) -> dict[Hashable, dict[str, Any]]:
    """:func:`duration_figures` per row key."""
    groups: dict[Hashable, list[StepRow]] = defaultdict(list)
    for row in rows:
        groups[row.key].append(row)
    return {k: duration_figures(v, days) for k, v in groups.items()}


def rating_figures(scores: Iterable[int]) -> dict[str, Any]:
    """Count, average (two places), the count per score 1–5, and how many are low (≤ 2)."""
    distribution = {s: 0 for s in range(1, 6)}
    for score in scores:
        distribution[score] += 1
    count = sum(distribution.values())
    total = sum(s * n for s, n in distribution.items())
    average = float((Decimal(total) / count).quantize(Decimal("0.01"))) if count else None
    return {"count": count, "average": average, "distribution": distribution,
            "low": distribution[1] + distribution[2]}


def group_ratings(rows: Iterable[tuple[Hashable, int]]) -> dict[Hashable, dict[str, Any]]:
    """:func:`rating_figures` per key of ``(key, score)`` pairs."""
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for key, score in rows:
        groups[key].append(score)
    return {k: rating_figures(v) for k, v in groups.items()}
