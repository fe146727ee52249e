"""Telling people that a task waits for them — off the request path.

A decision's transaction writes only the case (a few statements, counted by bench/cases.py); the one
scheduler process, each time before it delivers the outbox, turns the tasks created since the
last look into outbox rows (:func:`do_notify_new_tasks`). Exactly once per task: the outbox's
unique ``task:<id>:created`` key is what "already told" means, so a rerun, a second scheduler or
a scan that looks back further than needed adds nothing. The todo box and its badge show the
task at once; mail and chat follow within one delivery interval."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select

from ..cases.models import OPEN_TASK, Case, Task
from ..extensions import db
from ..org.models import Person
from .actions import Notice, notify_many
from .models import OutboxMessage

__all__ = ["do_notify_new_tasks", "LOOKBACK"]

_ASK = {"approve": "审批", "handle": "办理", "read": "阅知", "consult": "提出意见", "obligation": "办理批后事项",
        "error": "处理流程异常"}
LOOKBACK = timedelta(days=2)
"""How far back a look goes: a scheduler stopped for longer tells nobody of older tasks (their
holders have long seen them in their todo box, and the time-limit reminders still come)."""


def do_notify_new_tasks(*, now: datetime, lookback: timedelta = LOOKBACK) -> int:
    """Tell each holder of a task still pending, created since ``now - lookback`` and not yet
    told of, that it waits for them; commits. Returns the outbox rows added."""
    key = literal("task:") + cast(Task.id, String) + literal(":created")
    rows = db.session.execute(
        select(Task.id, Task.kind, Case.id.label("case_id"), Case.title, Person)
        .join(Case, Case.id == Task.case_id).join(Person, Person.id == Task.assignee_id)
        .where(Task.status == OPEN_TASK, Task.created_at >= now - lookback,
               ~exists().where(OutboxMessage.dedupe_key == key))
        .order_by(Task.id)).all()
    notices = [Notice((row.Person,), "cases.task.created", f"待办：{row.title}",
                      f"「{row.title}」等待您{_ASK.get(row.kind, '办理')}。", f"/cases/{row.case_id}",
                      f"task:{row.id}:created", case_id=row.case_id) for row in rows]
    added = notify_many(notices, now=now)
    db.session.commit()
    return added
