"""A holder is notified when a task is created for them, in the transaction that creates it:
on submission, when the case moves on, and never twice for one task."""

from __future__ import annotations

from sqlalchemy import select

from internal_affairs.extensions import db
from internal_affairs.notify.models import OutboxMessage
from internal_affairs.org.models import Person
from tests.support.cases import LEAVE_5, decide, open_task, submit, token


def _created_for(app, uid: str) -> list[str]:
    with app.app_context():
        return list(db.session.execute(
            select(OutboxMessage.dedupe_key).join(Person, Person.id == OutboxMessage.recipient_id)
            .where(Person.uid == uid, OutboxMessage.kind == "cases.task.created", OutboxMessage.channel == "inapp")
            .order_by(OutboxMessage.id)).scalars())


def test_each_new_holder_is_told_once(c):
    case = submit(c, "xujing", "leave", LEAVE_5)  # zhangwei → lixiaohong → wangguodong
    first = open_task(case, "zhangwei")
    assert _created_for(c.application, "zhangwei") == [f"task:{first}:created"]
    assert _created_for(c.application, "lixiaohong") == []
    case = decide(c, "zhangwei", case)
    second = open_task(case, "lixiaohong")
    assert _created_for(c.application, "lixiaohong") == [f"task:{second}:created"]
    assert _created_for(c.application, "zhangwei") == [f"task:{first}:created"]
    answer = c.get("/api/v1/notifications", headers=token(c, "lixiaohong")).get_json()
    assert answer["items"][0]["link"] == f"/cases/{case['id']}" and "待办" in answer["items"][0]["subject"]
