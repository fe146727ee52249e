"""The outbox: notify() adds rows in the caller's transaction, de-duplicated; delivery sends them
to a real aiosmtpd server and a local webhook receiver, marks them sent, retries with backoff and
gives up after the maximum attempts; quiet hours hold back chat pushes but not urgent ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from internal_affairs.extensions import db
from internal_affairs.notify.actions import do_set_preferences, notify
from internal_affairs.notify.delivery import deliver_due
from internal_affairs.notify.models import OutboxMessage
from internal_affairs.org.models import Person
from tests.support.app import load_demo
from tests.support.channels import SmtpServer, WebhookReceiver

NOW = datetime(2026, 12, 2, 2, 0)  # 10:00 in Shanghai


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def wired(make_app, smtp, hook):
    app = make_app(IA_SMTP_URL=smtp.url, IA_WEBHOOK_URL=hook.url, IA_BASE_URL="https://oa.jiahe.gov.cn",
                   IA_MAIL_FROM="oa@jiahe.gov.cn")
    load_demo(app)
    return app


def _person(uid: str) -> Person:
    return db.session.execute(select(Person).where(Person.uid == uid)).scalar_one()


def _rows() -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_one_row_per_channel_and_a_second_call_adds_nothing(wired):
    with wired.app_context():
        person = _person("zhouqiming")
        kwargs = dict(kind="cases.task.reminder", subject="请审批：张三的请假", body="张三的请假申请等待您审批。",
                      link="/cases/7", dedupe_key="task:7:reminder", now=NOW)
        assert notify([person, person], **kwargs) == 3
        assert notify([person], **kwargs) == 0
        db.session.commit()
        assert sorted(r.channel for r in _rows()) == ["chat", "inapp", "mail"]


def test_nothing_is_added_when_the_caller_rolls_back(wired):
    with wired.app_context():
        notify([_person("zhouqiming")], kind="x.y", subject="s", body="b", link=None, dedupe_key="k", now=NOW)
        db.session.rollback()
        assert _rows() == []


def test_mail_and_chat_delivered_with_chinese_text_and_absolute_link(wired, smtp, hook):
    with wired.app_context():
        person = _person("zhouqiming")
        notify([person], kind="cases.task.reminder", subject="请审批：张三的请假", body="张三的请假申请等待您审批。",
               link="/cases/7", dedupe_key="task:7:reminder", now=NOW)
        db.session.commit()
        report = deliver_due(config=wired.config, holder="t1", now=NOW)
        assert (report.sent, report.failed) == (2, 0)
        again = deliver_due(config=wired.config, holder="t1", now=NOW + timedelta(hours=1))
        assert again.sent == 0
        assert all(r.status == "sent" for r in _rows())
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == "请审批：张三的请假"
    assert "zhouqiming@jiahe.gov.cn" in mail["To"]
    assert "oa@jiahe.gov.cn" in mail["From"]
    text = mail.get_content()
    assert "张三的请假申请等待您审批。" in text and "https://oa.jiahe.gov.cn/cases/7" in text
    assert len(hook.bodies) == 1
    body = hook.bodies[0]
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "请审批：张三的请假"
    assert "https://oa.jiahe.gov.cn/cases/7" in body["markdown"]["text"]


def test_a_dead_channel_retries_with_backoff_then_gives_up(make_app, hook):
    app = make_app(IA_SMTP_URL="smtp://127.0.0.1:9", IA_WEBHOOK_URL=hook.url, IA_NOTIFY_MAX_ATTEMPTS="3")
    load_demo(app)
    hook.fail = True
    with app.app_context():
        notify([_person("zhouqiming")], kind="x.y", subject="主题", body="正文", link=None, dedupe_key="k", now=NOW)
        db.session.commit()
        first = deliver_due(config=app.config, holder="t1", now=NOW)
        assert (first.sent, first.failed) == (0, 2)
        assert deliver_due(config=app.config, holder="t1", now=NOW + timedelta(seconds=10)).failed == 0  # backing off
        second = deliver_due(config=app.config, holder="t1", now=NOW + timedelta(seconds=31))
        assert second.failed == 2
        hook.fail = False
        third = deliver_due(config=app.config, holder="t1", now=NOW + timedelta(minutes=5))
        assert (third.sent, third.dead) == (1, 1)  # chat got through; mail gave up at the third attempt
        by_channel = {r.channel: r for r in _rows()}
        assert by_channel["mail"].status == "dead" and by_channel["mail"].attempts == 3
        assert by_channel["chat"].status == "sent" and by_channel["chat"].attempts == 3
        assert "smtp" in by_channel["mail"].last_error
    assert len(hook.bodies) == 1


def test_quiet_hours_hold_chat_until_morning_but_not_urgent_ones(wired, hook):
    night = datetime(2026, 12, 2, 15, 0)  # 23:00 in Shanghai
    with wired.app_context():
        person = _person("zhouqiming")
        do_set_preferences({"mail": False, "quiet_start": "22:00", "quiet_end": "07:00"}, acting_user=person, now=night)
        notify([person], kind="a.b", subject="普通", body="普通消息", link=None, dedupe_key="n1", now=night)
        notify([person], kind="a.b", subject="紧急", body="紧急消息", link=None, dedupe_key="n2", now=night, urgent=True)
        db.session.commit()
        assert {r.channel for r in _rows()} == {"inapp", "chat"}  # mail switched off
        assert deliver_due(config=wired.config, holder="t1", now=night).sent == 1
        assert [b["markdown"]["title"] for b in hook.bodies] == ["紧急"]
        assert deliver_due(config=wired.config, holder="t1", now=datetime(2026, 12, 2, 22, 59)).sent == 0
        assert deliver_due(config=wired.config, holder="t1", now=datetime(2026, 12, 2, 23, 0)).sent == 1  # 07:00
    assert [b["markdown"]["title"] for b in hook.bodies] == ["紧急", "普通"]


def test_a_claim_of_another_deliverer_is_left_alone_until_it_expires(wired, smtp):
    from internal_affairs.notify.delivery import _claim

    with wired.app_context():
        notify([_person("zhouqiming")], kind="a.b", subject="s", body="b", link=None, dedupe_key="k", now=NOW)
        db.session.commit()
        assert len(_claim("other", NOW, 10, timedelta(minutes=5))) == 2
        assert deliver_due(config=wired.config, holder="t1", now=NOW + timedelta(minutes=1)).sent == 0
        assert deliver_due(config=wired.config, holder="t1", now=NOW + timedelta(minutes=6)).sent == 2
    assert len(smtp.messages) == 1


def test_a_message_that_cannot_be_built_fails_alone(wired, smtp):
    with wired.app_context():
        person = _person("zhouqiming")
        other = _person("luwentao")
        person.mail = "broken address\r\nBcc: x@y"
        notify([person, other], kind="a.b", subject="第一行\r\n第二行", body="b", link=None, dedupe_key="k", now=NOW)
        db.session.commit()
        report = deliver_due(config=wired.config, holder="t1", now=NOW)
        assert (report.sent, report.failed) == (3, 1)  # two chat pushes and one mail; the broken mail waits
        broken = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient_id == person.id,
                                                                OutboxMessage.channel == "mail")).scalar_one()
        assert broken.status == "pending" and broken.last_error.startswith("mail:")
    assert [str(m["Subject"]) for m in smtp.messages] == ["第一行 第二行"]
    assert "luwentao@jiahe.gov.cn" in smtp.messages[0]["To"]


def test_delivery_stops_before_the_next_message_once_told_the_lease_is_stale(wired, smtp):
    with wired.app_context():
        people = list(db.session.execute(select(Person).where(Person.mail.is_not(None)).limit(3)).scalars())
        for n, person in enumerate(people):
            notify([person], kind="a.b", subject=f"s{n}", body="b", link=None, dedupe_key=f"k{n}", now=NOW)
        db.session.commit()
        answers = iter([True, False])
        report = deliver_due(config=wired.config | {"WEBHOOK_URL": None}, holder="t1", now=NOW,
                             may_send=lambda: next(answers, False))
        assert report.sent == 1
        left = db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalars().all()
        assert len(left) == 5 and {r.claimed_by for r in left} == {"t1"}  # still claimed: a successor frees them
    assert len(smtp.messages) == 1
