"""The supervision figures against hand-computed values, on a small fixed data set around the
2026 National Day holiday (1–7 October off, Saturday 10 October a make-up working day) and the
Mid-autumn days before it (25–27 September off)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from internal_affairs.calendar.working_days import WorkCalendar
from internal_affairs.stats.figures import (CaseRow, StepRow, WorkDays, case_figures, group_cases, group_durations,
                                            local_day, median, p90, rating_figures, weighted_median)
from tests.support.stats import CASES as DATA, utc


CASES = [CaseRow(n, agency, matter, status, utc(submitted), utc(finished) if finished else None,
                 utc(due) if due else None, returns)
         for n, (agency, matter, status, submitted, finished, due, returns) in enumerate(DATA.values(), 1)]
START, END = utc("2026-09-28 00:00"), utc("2026-10-17 00:00")


@pytest.fixture(scope="module")
def days() -> WorkDays:
    return WorkDays(WorkCalendar())


def test_working_days_cross_the_holiday_and_count_the_make_up_saturday(days):
    assert days.between(utc("2026-09-30 10:00"), utc("2026-10-08 15:00")) == 1
    assert days.between(utc("2026-10-09 16:00"), utc("2026-10-10 11:00")) == 1
    assert days.between(utc("2026-10-10 11:00"), utc("2026-10-12 09:00")) == 1  # Sunday is off
    assert days.between(utc("2026-10-01 09:00"), utc("2026-10-07 18:00")) == 0  # inside the holiday
    assert days.between(utc("2026-10-08 09:00"), utc("2026-10-08 17:00")) == 0
    assert days.between(utc("2026-10-12 10:00"), utc("2026-09-29 09:00")) == 0  # reversed: nothing


def test_a_late_evening_in_utc_is_the_next_shanghai_day(days):
    assert local_day(datetime(2026, 10, 7, 16, 30)) == date(2026, 10, 8)
    # 29 Sep 23:30 UTC is 30 Sep in Shanghai; 30 Sep 17:00 UTC is already 1 October, a holiday
    assert days.between(datetime(2026, 9, 29, 23, 30), datetime(2026, 9, 30, 17, 0)) == 0
    assert days.between(datetime(2026, 9, 29, 15, 30), datetime(2026, 9, 29, 17, 0)) == 1  # 29 → 30 Sep


def test_the_running_count_agrees_with_the_calendar_whichever_way_it_grows():
    calendar = WorkCalendar({date(2026, 10, 9): False})  # an administrator closed a Friday
    days = WorkDays(calendar)
    assert days.between_days(date(2026, 10, 8), date(2026, 10, 12)) == 2  # Oct 10 and 12
    first = date(2026, 9, 1)
    for offset in range(0, 70, 3):
        for length in (1, 5, 17):
            start = first + timedelta(days=offset)
            end = start + timedelta(days=length)
            assert days.between_days(start, end) == calendar.working_days_between(start + timedelta(days=1), end)


def test_figures_of_the_whole_district(days):
    figures = case_figures(CASES, days, start=START, end=END)
    # volume: A, B, C, E, F, H, I submitted in the period; finished in it: A, B, C, D, E, G
    # durations 1, 5, 1, 8, 0, 9 → sorted 0 1 1 5 8 9: median (1 + 5) / 2 = 3, p90 the 6th = 9
    # due times: A, B, C, E, G → on time A, C, E = 3 of 5; never returned: A, C, D, G = 4 of 6
    assert figures == {"volume": 7, "finished": 6, "median_days": 3.0, "p90_days": 9.0, "on_time": 3,
                       "with_due": 5, "on_time_rate": 0.6, "one_trip": 4, "one_trip_rate": 0.6667}


def test_figures_per_agency_and_per_matter(days):
    by_agency = group_cases(CASES, lambda r: r.agency_id, days, start=START, end=END)
    # agency 1: submitted in the period A, B, C, I (G before it); I finished after it;
    # finished A 1, B 5, C 1, G 9 → median 3, p90 the 4th = 9; on time A, C of A, B, C, G; one trip A, C, G
    assert by_agency[1] == {"volume": 4, "finished": 4, "median_days": 3.0, "p90_days": 9.0, "on_time": 2,
                            "with_due": 4, "on_time_rate": 0.5, "one_trip": 3, "one_trip_rate": 0.75}
    # agency 2: submitted E, F, H; finished D 8, E 0 → median 4, p90 the 2nd = 8; on time E of E; one trip D
    assert by_agency[2] == {"volume": 3, "finished": 2, "median_days": 4.0, "p90_days": 8.0, "on_time": 1,
                            "with_due": 1, "on_time_rate": 1.0, "one_trip": 1, "one_trip_rate": 0.5}
    by_matter = group_cases(CASES, lambda r: r.matter_type_id, days, start=START, end=END)
    # matter 2: submitted C, E, H, I; finished C 1, E 0 → median 0.5, p90 1; on time 2 of 2; one trip C
    assert by_matter[2] == {"volume": 4, "finished": 2, "median_days": 0.5, "p90_days": 1.0, "on_time": 2,
                            "with_due": 2, "on_time_rate": 1.0, "one_trip": 1, "one_trip_rate": 0.5}


def test_time_per_step(days):
    steps = [StepRow.of("部门审核", utc("2026-09-30 10:00"), utc("2026-10-08 09:00")),
             StepRow.of("部门审核", utc("2026-10-09 16:00"), utc("2026-10-10 09:00")),
             StepRow.of("部门审核", utc("2026-10-12 09:00"), utc("2026-10-12 11:00")),
             StepRow.of("分管领导审批", utc("2026-09-30 10:00"), utc("2026-10-12 10:00"))]
    assert group_durations(steps, days) == {
        "部门审核": {"count": 3, "median_days": 1.0, "p90_days": 1.0},
        "分管领导审批": {"count": 1, "median_days": 4.0, "p90_days": 4.0},  # Oct 8, 9, 10, 12
    }


def test_grouped_rows_count_as_many_as_they_stand_for(days):
    one_by_one = [StepRow.of("审核", utc("2026-09-30 10:00"), utc("2026-10-08 09:00"))] * 3 + \
        [StepRow.of("审核", utc("2026-10-09 10:00"), utc("2026-10-12 09:00"))] * 2  # 1, 1, 1, 2, 2
    grouped = [StepRow.of("审核", utc("2026-09-30 10:00"), utc("2026-10-08 09:00"), count=3),
               StepRow.of("审核", utc("2026-10-09 10:00"), utc("2026-10-12 09:00"), count=2)]
    assert group_durations(one_by_one, days) == group_durations(grouped, days) == {
        "审核": {"count": 5, "median_days": 1.0, "p90_days": 2.0}}
    assert weighted_median([(1, 2), (5, 2)]) == 3.0 and weighted_median([(2, 0)]) is None


def test_median_p90_and_ratings():
    assert median([]) is None and p90([]) is None
    assert median([4, 1, 3]) == 3.0 and p90([4, 1, 3]) == 4.0
    assert p90(list(range(1, 11))) == 9.0  # the 9th of 10
    assert p90(list(range(1, 21))) == 18.0
    assert rating_figures([5, 4, 2, 1, 5]) == {"count": 5, "average": 3.4,
                                                "distribution": {1: 1, 2: 1, 3: 0, 4: 1, 5: 2}, "low": 2}
    assert rating_figures([])["average"] is None
