"""The working-day calendar: official holidays and make-up days, half days, due times, estimates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from internal_affairs.calendar.working_days import CalendarError, WorkCalendar, library_known_years

CAL = WorkCalendar()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# --- the published calendar, checked against the library and against the State Council notices


def test_spring_festival_2026():
    off = days(date(2026, 2, 15), date(2026, 2, 23))
    assert all(not CAL.is_working_day(d) for d in off)
    assert all(not chinese_calendar.is_workday(d) for d in off)
    for makeup in (date(2026, 2, 14), date(2026, 2, 28)):
        assert makeup.weekday() == 5
        assert CAL.is_working_day(makeup) and chinese_calendar.is_workday(makeup)
    assert CAL.is_working_day(date(2026, 2, 13)) and CAL.is_working_day(date(2026, 2, 24))
    assert CAL.day_info(date(2026, 2, 16)).source == "official"


def test_working_days_across_spring_festival_2026():
    assert CAL.working_days_between(date(2026, 2, 9), date(2026, 3, 1)) == Decimal(11)
    assert CAL.working_days_between(date(2026, 2, 14), date(2026, 2, 24)) == Decimal(2)
    assert CAL.working_days_between(date(2026, 2, 15), date(2026, 2, 23)) == Decimal(0)


@pytest.mark.parametrize(
    ("makeups", "off"),
    [
        ((date(2025, 9, 28), date(2025, 10, 11)), (date(2025, 10, 1), date(2025, 10, 8))),
        ((date(2026, 9, 20), date(2026, 10, 10)), (date(2026, 10, 1), date(2026, 10, 7))),
    ],
)
def test_national_day_make_up_days(makeups, off):
    for makeup in makeups:
        assert makeup.weekday() >= 5
        assert CAL.is_working_day(makeup) == chinese_calendar.is_workday(makeup) is True
    assert all(not CAL.is_working_day(d) for d in days(*off))
    assert CAL.is_working_day(off[1] + timedelta(1))


def test_the_calendar_agrees_with_the_library_for_every_known_day():
    for year in (2024, 2025, 2026):
        for d in days(date(year, 1, 1), date(year, 12, 31)):
            assert CAL.is_working_day(d) == chinese_calendar.is_workday(d), d


def test_a_known_year_is_official_after_its_last_listed_holiday():
    assert CAL.is_known(2026) and max(chinese_calendar.holidays) < date(2026, 12, 31)
    assert CAL.day_info(date(2026, 12, 31)).source == "official" and CAL.is_working_day(date(2026, 12, 31))


# --- beyond the library: weekends only, and flagged


def test_unknown_year_falls_back_to_weekends_and_says_so():
    assert library_known_years().stop <= 2031
    assert not CAL.is_known(2031) and 2031 not in CAL.known_years
    new_year = date(2031, 1, 1)
    assert new_year.weekday() == 2
    info = CAL.day_info(new_year)
    assert info.working and info.estimated and info.source == "estimated"
    assert not CAL.is_working_day(date(2031, 1, 4))
    count = CAL.count_working_days(date(2031, 1, 1), date(2031, 1, 12))
    assert count.days == Decimal(8) and count.estimated and count.estimated_years == (2031,)
    assert CAL.estimated_years(date(2030, 12, 1), date(2032, 1, 1)) == (2030, 2031, 2032)


def test_a_count_inside_known_years_is_not_estimated():
    count = CAL.count_working_days(date(2026, 1, 1), date(2026, 12, 31))
    assert not count.estimated and count.estimated_years == ()
    assert CAL.estimated_years(date(2026, 1, 1), date(2026, 12, 31)) == ()


def test_a_due_time_running_into_an_unknown_year_is_flagged():
    due = CAL.due_at(datetime(2030, 12, 30, 9, 0), 3)
    assert due.at == datetime(2031, 1, 2, 17, 30)
    assert due.estimated and due.estimated_years == (2030, 2031)
    assert not CAL.due_at(datetime(2026, 12, 28, 9, 0), 2).estimated


# --- administrator overrides


def test_overrides_win_over_the_library_and_the_estimate():
    cal = WorkCalendar({date(2026, 2, 16): True, date(2026, 3, 2): False, date(2031, 1, 1): False})
    assert cal.is_working_day(date(2026, 2, 16)) and cal.day_info(date(2026, 2, 16)).source == "override"
    assert not cal.is_working_day(date(2026, 3, 2))
    info = cal.day_info(date(2031, 1, 1))
    assert not info.working and not info.estimated
    assert cal.working_days_between(date(2026, 2, 15), date(2026, 2, 23)) == Decimal(1)


def test_overrides_covering_an_unknown_range_remove_the_estimate_flag():
    closed = {d: d.weekday() < 5 and d != date(2031, 1, 1) for d in days(date(2031, 1, 1), date(2031, 1, 12))}
    cal = WorkCalendar(closed)
    count = cal.count_working_days(date(2031, 1, 1), date(2031, 1, 12))
    assert count.days == Decimal(7) and not count.estimated
    assert cal.estimated_years(date(2031, 1, 1), date(2031, 1, 12)) == ()
    assert cal.estimated_years(date(2031, 1, 1), date(2031, 1, 13)) == (2031,)


def test_overrides_are_validated_and_frozen():
    with pytest.raises(CalendarError):
        WorkCalendar({datetime(2026, 1, 1, 8): True})
    with pytest.raises(CalendarError):
        WorkCalendar({date(2026, 1, 1): "yes"})
    source = {date(2026, 1, 1): True}
    cal = WorkCalendar(source)
    source[date(2026, 1, 1)] = False
    assert cal.is_working_day(date(2026, 1, 1))
    with pytest.raises(TypeError):
        cal.overrides[date(2026, 1, 2)] = True


# --- half days


@pytest.mark.parametrize(
    ("start", "end", "start_half", "end_half", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 6), None, None, "5"),
        (date(2026, 3, 2), date(2026, 3, 6), "pm", None, "4.5"),
        (date(2026, 3, 2), date(2026, 3, 6), None, "am", "4.5"),
        (date(2026, 3, 2), date(2026, 3, 6), "pm", "am", "4"),
        (date(2026, 3, 2), date(2026, 3, 6), "am", "pm", "5"),
        (date(2026, 3, 2), date(2026, 3, 2), None, None, "1"),
        (date(2026, 3, 2), date(2026, 3, 2), "pm", None, "0.5"),
        (date(2026, 3, 2), date(2026, 3, 2), "pm", "pm", "0.5"),
        (date(2026, 3, 2), date(2026, 3, 2), None, "am", "0.5"),
        (date(2026, 3, 2), date(2026, 3, 2), "am", "am", "0.5"),
        (date(2026, 2, 13), date(2026, 2, 14), "pm", "am", "1"),
        (date(2026, 2, 15), date(2026, 2, 24), "pm", "am", "0.5"),
        (date(2026, 3, 7), date(2026, 3, 9), "pm", None, "1"),
    ],
)
def test_half_days(start, end, start_half, end_half, expected):
    assert CAL.working_days_between(start, end, start_half, end_half) == Decimal(expected)


def test_bad_periods_are_rejected():
    with pytest.raises(CalendarError):
        CAL.working_days_between(date(2026, 3, 3), date(2026, 3, 2))
    with pytest.raises(CalendarError):
        CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 2), "pm", "am")
    with pytest.raises(CalendarError):
        CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 3), "evening")
    with pytest.raises(CalendarError):
        CAL.working_days_between("2026-03-02", date(2026, 3, 3))


# --- due times: the instant's day does not count; the limit runs out at 17:30 of the Nth working day


@pytest.mark.parametrize(
    ("instant", "n", "expected"),
    [
        (datetime(2026, 3, 2, 9, 0), 1, datetime(2026, 3, 3, 17, 30)),
        (datetime(2026, 3, 2, 23, 59), 1, datetime(2026, 3, 3, 17, 30)),
        (datetime(2026, 3, 6, 10, 0), 1, datetime(2026, 3, 9, 17, 30)),
        (datetime(2026, 3, 7, 10, 0), 1, datetime(2026, 3, 9, 17, 30)),
        (datetime(2026, 3, 2, 9, 0), 5, datetime(2026, 3, 9, 17, 30)),
        (datetime(2026, 2, 13, 10, 0), 1, datetime(2026, 2, 14, 17, 30)),
        (datetime(2026, 2, 13, 10, 0), 2, datetime(2026, 2, 24, 17, 30)),
        (datetime(2026, 2, 14, 10, 0), 3, datetime(2026, 2, 26, 17, 30)),
        (datetime(2026, 2, 13, 10, 0), Decimal("0.5"), datetime(2026, 2, 14, 12, 0)),
        (datetime(2026, 2, 13, 10, 0), Decimal("1.5"), datetime(2026, 2, 24, 12, 0)),
        (datetime(2026, 2, 26, 10, 0), 2, datetime(2026, 2, 28, 17, 30)),
        (datetime(2025, 9, 30, 10, 0), 1, datetime(2025, 10, 9, 17, 30)),
        (datetime(2025, 9, 26, 10, 0), 1, datetime(2025, 9, 28, 17, 30)),
    ],
)
def test_add_working_days(instant, n, expected):
    assert CAL.add_working_days(instant, n) == expected
    assert not CAL.due_at(instant, n).estimated


def test_due_times_keep_the_time_zone():
    instant = datetime(2026, 2, 13, 16, 0, tzinfo=SHANGHAI)
    due = CAL.add_working_days(instant, 2)
    assert due == datetime(2026, 2, 24, 17, 30, tzinfo=SHANGHAI) and due.tzinfo is SHANGHAI


def test_office_hours_are_configurable():
    cal = WorkCalendar(day_end=time(18, 0), half_day_end=time(11, 30))
    assert cal.add_working_days(datetime(2026, 3, 2, 9), 1) == datetime(2026, 3, 3, 18, 0)
    assert cal.add_working_days(datetime(2026, 3, 2, 9), Decimal("0.5")) == datetime(2026, 3, 3, 11, 30)


def test_due_times_in_an_unknown_year_are_weekends_only_and_flagged():
    due = CAL.due_at(datetime(2031, 1, 3, 9), 1)
    assert due.at == datetime(2031, 1, 6, 17, 30) and due.estimated_years == (2031,)


@pytest.mark.parametrize("n", [0, -1, Decimal("0.3"), True, "1", float("nan")])
def test_bad_numbers_of_days_are_rejected(n):
    with pytest.raises(CalendarError):
        CAL.add_working_days(datetime(2026, 3, 2, 9), n)


def test_due_time_needs_a_datetime():
    with pytest.raises(CalendarError):
        CAL.add_working_days(date(2026, 3, 2), 1)


def test_next_working_day():
    assert CAL.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)
    assert CAL.next_working_day(date(2026, 2, 27)) == date(2026, 2, 28)
