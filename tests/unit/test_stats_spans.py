"""Working days counted from a running count per calendar day (what the database is given to
group steps, tasks and cases by working days), against the calendar itself, around the 2026
National Day holiday (1–7 October off, Saturday 10 October a make-up working day)."""

from __future__ import annotations

from datetime import date, timedelta

from internal_affairs.calendar.working_days import WorkCalendar
from internal_affairs.stats.figures import (CaseFacts, StepRow, WorkDays, group_durations, group_spans,
                                            summarize_case_groups, summarize_cases)


def test_the_running_count_gives_the_calendars_working_days():
    calendar = WorkCalendar({date(2026, 10, 9): False})  # an administrator closed a Friday
    first, last = date(2026, 9, 20), date(2026, 10, 31)
    days = WorkDays(calendar)
    days.between_days(date(2026, 10, 1), date(2026, 10, 20))  # already counting from a later day
    counts = days.running_counts(first, last)
    assert len(counts) == 42 and counts[0] == 0
    for a in range(0, 42, 2):
        for b in range(a, 42, 3):
            start, end = first + timedelta(days=a), first + timedelta(days=b)
            expected = calendar.working_days_between(start + timedelta(days=1), end) if end > start else 0
            assert counts[b] - counts[a] == expected == WorkDays(calendar).between_days(start, end)
    # 30 Sep → 8 Oct crosses the holiday: one working day
    assert counts[(date(2026, 10, 8) - first).days] - counts[(date(2026, 9, 30) - first).days] == 1
    assert days.running_counts(last, first) == []


def test_durations_counted_by_the_database_or_here_give_the_same_figures():
    days = WorkDays(WorkCalendar())
    d = date.fromisoformat
    raw = [("审核", d("2026-09-30"), d("2026-10-08"), 3), ("审核", d("2026-10-09"), d("2026-10-12"), 2),
           (("leave", "批准"), d("2026-09-30"), d("2026-10-12"), 1)]
    counted = [("审核", 1, None, None, 3), ("审核", None, d("2026-10-09"), d("2026-10-12"), 2),
               ("leave", "批准", 4, None, None, 1)]
    assert group_spans(counted, days) == group_durations(raw, days) == {
        "审核": {"count": 5, "median_days": 1.0, "p90_days": 2.0},
        ("leave", "批准"): {"count": 1, "median_days": 4.0, "p90_days": 4.0}}
    assert group_durations([StepRow("审核", d("2026-10-12"), d("2026-10-12"), 1)], days) == \
        group_spans([("审核", 0, None, None, 1)], days)


def test_cases_grouped_by_the_database_summarise_like_their_facts():
    days = WorkDays(WorkCalendar())
    d = date.fromisoformat
    facts = [CaseFacts(1, 1, d("2026-09-30"), d("2026-10-08"), True, True, True, True, True, 2),  # 1 day
             CaseFacts(1, 2, d("2026-09-24"), d("2026-10-13"), False, True, False, False, True),  # 8 days
             CaseFacts(2, 1, d("2026-10-12"), None, True, False, True, False, True),  # open
             CaseFacts(2, 2, d("2026-10-08"), d("2026-10-08"), True, True, True, False, False)]  # 0 days, late
    submitted = [(1, 1, 2), (2, 1, 1), (2, 2, 1)]
    finished = [(1, 1, 1, None, None, 1, 1, 1, 2), (1, 2, None, d("2026-09-24"), d("2026-10-13"), 0, 0, 1, 1),
                (2, 2, 0, None, None, 1, 0, 0, 1)]
    grouped = summarize_case_groups(submitted, finished, days)
    assert grouped == summarize_cases(facts, days)
    assert grouped["total"] == {"volume": 4, "finished": 4, "median_days": 1.0, "p90_days": 8.0, "on_time": 2,
                                "with_due": 3, "on_time_rate": 0.6667, "one_trip": 3, "one_trip_rate": 0.75}
    assert grouped["agency"][2]["volume"] == 2 and grouped["agency"][2]["finished"] == 1
    assert grouped["matter"][2]["median_days"] == 4.0  # 8 and 0
