"""The retry schedule of a record whose sealing failed: 1, 2, 4 … minutes, never more than an hour."""

from datetime import timedelta

from internal_affairs.seals.actions import MAX_BACKOFF, backoff


def test_backoff_doubles_and_is_capped():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(7) == MAX_BACKOFF == timedelta(hours=1)
    assert backoff(50) == MAX_BACKOFF
    assert backoff(0) == timedelta(minutes=1)
