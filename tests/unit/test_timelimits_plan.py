"""The pure time-limit planner: working-hour leads across the National Day holiday of 2025
(1–8 October off; Sunday 28 September and Saturday 11 October worked), and which events fire."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from internal_affairs.calendar.working_days import WorkCalendar
from internal_affairs.cases.timelimits import (OpenItem, TimeEvent, plan_time_events, working_hours_after,
                                               working_hours_before)
from internal_affairs.clock import LOCAL_OFFSET

CAL = WorkCalendar()


def utc(local: str) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the columns store."""
    return datetime.fromisoformat(local) - LOCAL_OFFSET


def test_the_calendar_knows_the_holiday_and_the_make_up_days():
    assert CAL.is_working_day(datetime(2025, 9, 28).date())  # Sunday, worked
    assert not CAL.is_working_day(datetime(2025, 10, 8).date())
    assert CAL.is_working_day(datetime(2025, 10, 11).date())  # Saturday, worked
    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    assert CAL.add_working_days(datetime(2025, 9, 30, 18, 0, tzinfo=tz), 1).replace(tzinfo=None) == datetime(2025, 10, 9, 17, 30)
    assert CAL.add_working_days(datetime(2025, 9, 26, 18, 0, tzinfo=tz), 1).replace(tzinfo=None) == datetime(2025, 9, 28, 17, 30)


def test_lead_counts_working_hours_only():
    assert working_hours_before(datetime(2025, 10, 9, 17, 30), 4, CAL) == datetime(2025, 10, 9, 13, 30)
    # 3.5 h on the morning of the 9th, the last half hour before the holiday, on 30 September
    assert working_hours_before(datetime(2025, 10, 9, 12, 0), 4, CAL) == datetime(2025, 9, 30, 17, 0)
    # the make-up Saturday counts: 2 h on Monday the 13th, 2 h on Saturday the 11th
    assert working_hours_before(datetime(2025, 10, 13, 10, 30), 4, CAL) == datetime(2025, 10, 11, 15, 30)
    assert working_hours_before(datetime(2025, 10, 14, 10, 30), Decimal("1.5"), CAL) == datetime(2025, 10, 14, 9, 0)
    assert working_hours_before(datetime(2025, 10, 14, 10, 30), Decimal("2.5"), CAL) == datetime(2025, 10, 13, 17, 0)
    assert working_hours_after(datetime(2025, 9, 30, 16, 0), 4, CAL) == datetime(2025, 10, 9, 11, 0)
    assert working_hours_after(datetime(2025, 10, 10, 19, 0), 4, CAL) == datetime(2025, 10, 11, 14, 0)


def _kinds(events: list[TimeEvent]) -> list[tuple[int, str]]:
    return [(e.item.item_id, e.kind) for e in events]


def test_reminder_then_overdue_then_escalation_each_once():
    task = OpenItem("task", 1, 10, utc("2025-10-09 12:00"), Decimal(4), "escalate", "manager")
    fired: dict = {}

    def plan(local: str):
        events = plan_time_events([task], now=utc(local), calendar=CAL, fired=fired)
        for e in events:
            fired.setdefault((e.item.item_type, e.item.item_id), set()).add(e.kind)
        return _kinds(events)

    assert plan("2025-09-30 16:59") == []
    assert plan("2025-09-30 17:00") == [(1, "reminder")]
    assert plan("2025-10-05 10:00") == []  # during the holiday: already reminded
    assert plan("2025-10-09 11:59") == []
    assert plan("2025-10-09 12:00") == [(1, "overdue"), (1, "escalation")]
    assert plan("2025-10-20 12:00") == []


def test_an_item_found_late_gets_only_the_overdue_mark_and_no_reminder():
    late = OpenItem("task", 2, 10, utc("2025-10-09 17:30"), on_timeout="remind")
    assert _kinds(plan_time_events([late], now=utc("2025-10-10 09:00"), calendar=CAL)) == [(2, "overdue")]


def test_cases_get_only_an_overdue_mark_and_materials_their_reminder():
    case = OpenItem("case", 3, 3, utc("2025-10-11 17:30"))
    material = OpenItem("material", 4, 3, utc("2025-10-11 17:30"), Decimal(8))
    now = utc("2025-10-10 17:00")  # 8 working hours before Saturday's end: Friday 17:00
    assert _kinds(plan_time_events([case, material], now=now, calendar=CAL)) == [(4, "reminder")]
    assert _kinds(plan_time_events([case, material], now=now - timedelta(minutes=1), calendar=CAL)) == []
    assert _kinds(plan_time_events([case, material], now=utc("2025-10-11 17:30"), calendar=CAL,
                                   fired={("material", 4): {"reminder"}})) == [(3, "overdue"), (4, "overdue")]
