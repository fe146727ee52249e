"""The district's local day and midnight, from and to the naive UTC the columns hold."""

from __future__ import annotations

from datetime import date, datetime

from internal_affairs.clock import LOCAL_OFFSET, local_day, local_midnight


def test_local_day_and_midnight_are_shanghai_s():
    assert local_midnight(date(2026, 12, 7)) == datetime(2026, 12, 6, 16, 0)
    assert local_day(datetime(2026, 12, 6, 16, 0)) == date(2026, 12, 7)
    assert local_day(datetime(2026, 12, 6, 15, 59)) == date(2026, 12, 6)
    assert local_midnight(date(2026, 12, 7)) + LOCAL_OFFSET == datetime(2026, 12, 7)
