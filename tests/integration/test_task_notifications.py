"""A holder is told when a task is created for them — by the scheduler, off the request path:
on submission, when the case moves on, never twice for one task, never for a task already
decided, and never by the decision's own transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.notify.case_hooks import do_notify_new_tasks
from internal_affairs.notify.models import OutboxMessage
from internal_affairs.org.models import Person
from tests.support.cases import LEAVE_5, decide, open_task, submit, token
from tests.support.statements import counted


def _created_for(app, uid: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(OutboxMessage.dedupe_key).join(Person, Person.id == OutboxMessage.recipient_id)
            .where(Person.uid == uid, OutboxMessage.kind == "cases.task.created", OutboxMessage.channel == "inapp")
            .order_by(OutboxMessage.id)).scalars())


def _look(app, **kwargs) -> int:
    with app.app_context():
        return do_notify_new_tasks(now=utcnow(), **kwargs)


def test_each_new_holder_is_told_once(c):
    case = submit(c, "xujing", "leave", LEAVE_5)  # zhangwei → lixiaohong → wangguodong
    first = open_task(case, "zhangwei")
    assert _created_for(c.application, "zhangwei") == [], "not by the submission's own transaction"
    assert _look(c.application) >= 1
    assert _created_for(c.application, "zhangwei") == [f"task:{first}:created"]
    with counted(c.application) as statements:
        case = decide(c, "zhangwei", case)
    assert not [s for s in statements if "outbox_message" in s], "a decision writes no notification"
    second = open_task(case, "lixiaohong")
    assert _look(c.application) >= 1 and _look(c.application) == 0, "told once, however often it looks"
    assert _created_for(c.application, "lixiaohong") == [f"task:{second}:created"]
    assert _created_for(c.application, "zhangwei") == [f"task:{first}:created"]
    answer = c.get("/api/v1/notifications", headers=token(c, "lixiaohong")).get_json()
    assert answer["items"][0]["link"] == f"/cases/{case['id']}" and "待办" in answer["items"][0]["subject"]


def test_a_task_decided_before_the_look_or_older_than_it_tells_nobody(c):
    case = submit(c, "xujing", "leave", LEAVE_5)
    case = decide(c, "zhangwei", case)
    second = open_task(case, "lixiaohong")
    assert _look(c.application, lookback=timedelta(0)) == 0, "created before the window"
    assert _look(c.application) >= 1
    assert _created_for(c.application, "zhangwei") == [], "decided before anyone looked"
    assert _created_for(c.application, "lixiaohong") == [f"task:{second}:created"]
