"""Notifications the case services send from inside their transaction (the outbox row commits
or rolls back with the change that causes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from ..extensions import db
from ..org.models import Person
from .actions import Notice, notify_many

__all__ = ["notify_new_tasks"]

_ASK = {"approve": "审批", "handle": "办理", "read": "阅知", "opinion": "提出意见", "obligation": "办理批后事项",
        "error": "处理流程异常"}


def notify_new_tasks(case: Any, after: Any, ids: Mapping[int, int], *, now: datetime) -> int:
    """Tell each holder of a pending task the engine just created (engine ids < 0, their row ids
    in ``ids``) that it waits for them; de-duplicated per task. Returns the outbox rows added."""
    notices = []
    for task in after.tasks:
        if task.id >= 0 or task.assignee_id is None or str(task.status) != "pending":
            continue
        person = db.session.get(Person, task.assignee_id)
        if person is None:
            continue
        task_id = ids.get(task.id, task.id)
        ask = _ASK.get(str(task.kind), "办理")
        notices.append(Notice((person,), "cases.task.created", f"待办：{case.title}",
                              f"「{case.title}」等待您{ask}。", f"/cases/{case.id}", f"task:{task_id}:created",
                              case_id=case.id))
    return notify_many(notices, now=now) if notices else 0
