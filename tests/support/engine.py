"""Driving the pure case engine in memory: new rows get the ids the database would give them."""

from __future__ import annotations

from internal_affairs.cases import engine

__all__ = ["persist"]

_REFS = ("step_id", "parent_task_id", "blocked_by_task_id", "closed_by_task_id")


def persist(case: engine.Case, counter: list[int] | None = None) -> engine.Case:
    """Give ``case``'s new steps and tasks (negative engine ids) the ids the database would, as the
    service does, and point every reference at them. ``counter`` (a one-item list) carries the last
    id given across calls; without it ids continue after the case's highest."""
    top = counter[0] if counter is not None else max([0] + [s.id for s in case.steps] + [t.id for t in case.tasks])
    ids: dict[int, int] = {}
    for row in [*case.steps, *case.tasks]:
        if row.id < 0:
            top += 1
            ids[row.id] = row.id = top
    for task in case.tasks:
        for ref in _REFS:
            if getattr(task, ref) in ids:
                setattr(task, ref, ids[getattr(task, ref)])
    if counter is not None:
        counter[0] = top
    return case
