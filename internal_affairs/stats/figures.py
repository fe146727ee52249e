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
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import median as _median
from typing import Any, NamedTuple

from ..calendar.working_days import WorkCalendar

from ..clock import LOCAL_OFFSET, local_day
__all__ = ["FINISHED", "LOCAL_OFFSET", "CaseRow", "CaseFacts", "summarize_cases", "summarize_case_groups", "StepRow", "TaskRow", "WorkDays", "local_day",
           "median", "p90", "weighted_median", "weighted_p90", "rate", "case_figures", "group_cases", "duration_figures", "group_durations", "group_spans",
           "rating_figures", "group_ratings"]

FINISHED = frozenset({"approved", "rejected", "completed"})


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

    def running_counts(self, first: date, last: date) -> list[int]:
        """A running count of working days for each calendar day from ``first`` to ``last`` (both
        included): for days ``a`` <= ``b`` in that range, ``between_days(a, b)`` is
        ``counts[b - first] - counts[a - first]``. The database looks durations up in it (see
        :mod:`internal_affairs.stats.queries`), so that it groups rows by working days rather than by
        pairs of calendar days."""
        if last < first:
            return []
        base = self._count(first)  # the earliest day first: reaching back renumbers what is kept
        return [self._count(first + timedelta(days=i)) - base for i in range((last - first).days + 1)]


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


class StepRow(NamedTuple):
    """``count`` finished steps (or decided tasks) with the same key, started on ``start_day`` and
    finished on ``end_day`` (Shanghai days): the database groups them so that a busy district's
    hundreds of thousands of steps arrive as a few thousand rows. Any tuple ending in start day,
    end day and count will do; the items before them are the key."""

    key: Hashable
    start_day: date
    end_day: date
    count: int = 1

    @classmethod
    def of(cls, key: Hashable, started_at: datetime, finished_at: datetime, count: int = 1) -> StepRow:
        """A row from naive UTC instants."""
        return cls(key, local_day(started_at), local_day(finished_at), count)


TaskRow = StepRow


def _kth(pairs: Sequence[tuple[float, int]], k: int) -> float:
    """The ``k``-th smallest value (1-based) of sorted ``(value, count)`` pairs."""
    seen = 0
    for value, count in pairs:
        seen += count
        if seen >= k:
            return float(value)
    raise IndexError(k)


def _weighted(values: Iterable[tuple[float, int]]) -> tuple[list[tuple[float, int]], int]:
    pairs = sorted((v, n) for v, n in values if n > 0)
    return pairs, sum(n for _v, n in pairs)


def weighted_median(values: Iterable[tuple[float, int]]) -> float | None:
    """The median of values given as ``(value, how many times)``; None for none."""
    pairs, n = _weighted(values)
    if not n:
        return None
    if n % 2:
        return _kth(pairs, n // 2 + 1)
    return (_kth(pairs, n // 2) + _kth(pairs, n // 2 + 1)) / 2


def weighted_p90(values: Iterable[tuple[float, int]]) -> float | None:
    """The nearest-rank 90th percentile of ``(value, how many times)`` pairs; None for none."""
    pairs, n = _weighted(values)
    return _kth(pairs, max(1, math.ceil(0.9 * n))) if n else None


def median(values: Sequence[int | float]) -> float | None:
    """The median, None for no values."""
    return float(_median(values)) if values else None


def p90(values: Sequence[int | float]) -> float | None:
    """The nearest-rank 90th percentile, None for no values."""
    return weighted_p90((v, 1) for v in values)


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to four places, None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


def _in(instant: datetime | None, start: datetime, end: datetime) -> bool:
    return instant is not None and start <= instant < end


class CaseFacts(NamedTuple):
    """``count`` cases that share everything the figures ask of them for one period: agency,
    matter, the Shanghai days they were submitted and finished, whether they were submitted in
    the period, finished in it (approved, rejected or completed), had a due time, met it and were
    never returned. The database groups cases into these (see :mod:`internal_affairs.stats.queries`);
    :meth:`of` derives them from one :class:`CaseRow`. Any tuple of these ten in this order will
    do (the database's rows, as they come: truthy flags, a count)."""

    agency_id: int
    matter_type_id: int
    submitted_day: date | None
    finished_day: date | None
    submitted_in: bool
    finished_in: bool
    with_due: bool
    on_time: bool
    one_trip: bool
    count: int = 1

    @classmethod
    def of(cls, row: CaseRow, *, start: datetime, end: datetime) -> CaseFacts:
        """The facts of one case for the period ``[start, end)`` (naive UTC)."""
        finished_in = (row.status in FINISHED and _in(row.finished_at, start, end)
                       and row.submitted_at is not None)
        return cls(row.agency_id, row.matter_type_id,
                   local_day(row.submitted_at) if row.submitted_at else None,
                   local_day(row.finished_at) if row.finished_at else None,
                   _in(row.submitted_at, start, end), finished_in, row.due_at is not None,
                   row.due_at is not None and row.finished_at is not None and row.finished_at <= row.due_at,
                   row.return_count == 0)


class _Tally:
    """The running sums of :func:`case_figures` for one group."""

    __slots__ = ("volume", "finished", "with_due", "on_time", "one_trip", "durations")

    def __init__(self) -> None:
        self.volume = self.finished = self.with_due = self.on_time = self.one_trip = 0
        self.durations: Counter[int] = Counter()

    def add_finished(self, duration: int, with_due, on_time, one_trip, n: int) -> None:
        self.finished += n
        self.durations[duration] += n
        if with_due:
            self.with_due += n
            if on_time:
                self.on_time += n
        if one_trip:
            self.one_trip += n

    def figures(self) -> dict[str, Any]:
        pairs = list(self.durations.items())
        return {"volume": self.volume, "finished": self.finished, "median_days": weighted_median(pairs),
                "p90_days": weighted_p90(pairs), "on_time": self.on_time, "with_due": self.with_due,
                "on_time_rate": rate(self.on_time, self.with_due), "one_trip": self.one_trip,
                "one_trip_rate": rate(self.one_trip, self.finished)}


def summarize_cases(facts: Iterable[CaseFacts | tuple], days: WorkDays) -> dict[str, Any]:
    """Volume, finished, median and p90 handling time, on-time and one-trip rates — of all
    ``facts`` (``"total"``), per agency (``"agency"``) and per matter type (``"matter"``), in one
    pass. A finished case's handling time is counted once."""
    facts = list(facts)
    submitted = ((f[0], f[1], f[9]) for f in facts if f[4])
    finished = ((f[0], f[1], None, f[2], f[3], f[6], f[7], f[8], f[9]) for f in facts if f[5] and f[2] and f[3])
    return summarize_case_groups(submitted, finished, days)


def summarize_case_groups(submitted: Iterable[tuple], finished: Iterable[tuple], days: WorkDays) -> dict[str, Any]:
    """:func:`summarize_cases` of cases the database has grouped: ``submitted`` rows ``(agency,
    matter, count)`` of the cases submitted in the period, ``finished`` rows ``(agency, matter,
    working days, submitted day, finished day, with due time, on time, one trip, count)`` of those
    finished in it. Where the working days are None (days the database's running count did not
    cover) they are counted here from the two days."""
    total = _Tally()
    agencies: dict[int, _Tally] = defaultdict(_Tally)
    matters: dict[int, _Tally] = defaultdict(_Tally)
    for agency, matter, n in submitted:
        for tally in (total, agencies[agency], matters[matter]):
            tally.volume += n
    spans: dict[tuple[date, date], int] = {}
    for agency, matter, duration, submitted_day, finished_day, with_due, on_time, one_trip, n in finished:
        if duration is None:
            span = (submitted_day, finished_day)
            duration = spans.get(span)
            if duration is None:
                duration = spans[span] = days.between_days(submitted_day, finished_day)
        for tally in (total, agencies[agency], matters[matter]):
            tally.add_finished(duration, with_due, on_time, one_trip, n)
    return {"total": total.figures(), "agency": {k: t.figures() for k, t in agencies.items()},
            "matter": {k: t.figures() for k, t in matters.items()}}


def case_figures(rows: Iterable[CaseRow], days: WorkDays, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Volume, finished, median and p90 handling time, on-time and one-trip rates of ``rows`` for
    the period ``[start, end)`` (naive UTC)."""
    return summarize_cases((CaseFacts.of(r, start=start, end=end) for r in rows), days)["total"]


def group_cases(rows: Iterable[CaseRow], key: Callable[[CaseRow], Hashable], days: WorkDays, *,
                start: datetime, end: datetime) -> dict[Hashable, dict[str, Any]]:
    """:func:`case_figures` per ``key(row)``."""
    groups: dict[Hashable, list[CaseRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return {k: case_figures(v, days, start=start, end=end) for k, v in groups.items()}


def _duration_figures(durations: Counter[int]) -> dict[str, Any]:
    pairs = list(durations.items())
    return {"count": sum(durations.values()), "median_days": weighted_median(pairs), "p90_days": weighted_p90(pairs)}


def duration_figures(rows: Iterable[StepRow | tuple], days: WorkDays) -> dict[str, Any]:
    """Count, median and p90 working days of steps or tasks (tuples ending in start day, end day
    and count)."""
    durations: Counter[int] = Counter()
    for *_key, start_day, end_day, n in rows:
        durations[days.between_days(start_day, end_day)] += n
    return _duration_figures(durations)


def group_durations(rows: Iterable[StepRow | tuple], days: WorkDays) -> dict[Hashable, dict[str, Any]]:
    """:func:`duration_figures` per key: the items before the last three (one item: itself; more:
    their tuple). One pass; each distinct (start day, end day) is counted once."""
    groups: dict[Hashable, Counter[int]] = defaultdict(Counter)
    spans: dict[tuple[date, date], int] = {}
    for row in rows:
        if len(row) == 4:
            key, start_day, end_day, n = row
        else:
            *head, start_day, end_day, n = row
            key = tuple(head)
        span = (start_day, end_day)
        duration = spans.get(span)
        if duration is None:
            duration = spans[span] = days.between_days(start_day, end_day)
        groups[key][duration] += n
    return {k: _duration_figures(v) for k, v in groups.items()}


def group_spans(rows: Iterable[tuple], days: WorkDays) -> dict[Hashable, dict[str, Any]]:
    """:func:`group_durations` of rows whose working days the database has already counted: tuples
    ending in working days, start day, end day and count, the items before them the key (one item:
    itself; more: their tuple). Where the working days are None (a day the database's running count
    did not cover) they are counted here from the start and end days."""
    groups: dict[Hashable, Counter[int]] = defaultdict(Counter)
    for row in rows:
        if len(row) == 5:
            key, duration, start_day, end_day, n = row
        else:
            *head, duration, start_day, end_day, n = row
            key = tuple(head)
        if duration is None:
            duration = days.between_days(start_day, end_day)
        groups[key][duration] += n
    return {k: _duration_figures(v) for k, v in groups.items()}


def rating_figures(scores: Iterable[int | tuple[int, int]]) -> dict[str, Any]:
    """Count, average (two places), the count per score 1–5, and how many are low (≤ 2). A score
    may come with how many times it was given, as ``(score, count)``."""
    distribution = {s: 0 for s in range(1, 6)}
    for item in scores:
        score, n = item if isinstance(item, tuple) else (item, 1)
        distribution[score] += n
    count = sum(distribution.values())
    total = sum(s * n for s, n in distribution.items())
    average = float((Decimal(total) / count).quantize(Decimal("0.01"))) if count else None
    return {"count": count, "average": average, "distribution": distribution,
            "low": distribution[1] + distribution[2]}


def group_ratings(rows: Iterable[tuple]) -> dict[Hashable, dict[str, Any]]:
    """:func:`rating_figures` per key of ``(key, score)`` or ``(key, score, count)`` rows."""
    groups: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        key, score, n = (row[0], row[1], row[2] if len(row) > 2 else 1)
        groups[key].append((score, n))
    return {k: rating_figures(v) for k, v in groups.items()}
