"""The sync pauses the cyclic garbage collector and always restores it."""

from __future__ import annotations

import gc

import pytest

from internal_affairs.org.actions import _collector_paused


@pytest.fixture
def collector_state():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_collector_is_paused_inside_and_restored_after_an_error(collector_state) -> None:
    gc.enable()
    with pytest.raises(RuntimeError):
        with _collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_collector_left_disabled_by_the_caller_stays_disabled(collector_state) -> None:
    gc.disable()
    with _collector_paused():
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert not gc.isenabled()
