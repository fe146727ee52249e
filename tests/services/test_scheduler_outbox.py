"""The one scheduler as a real process (``flask --app wsgi scheduler run``) delivering the outbox
to a real aiosmtpd server and a local webhook receiver: killed with SIGKILL mid-batch and
restarted, it neither loses nor repeats a message; two schedulers started at once deliver each
message once; ``--once`` and the lease, with time moved by the test."""

from __future__ import annotations

import signal
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from internal_affairs.clock import local_day, local_midnight, utcnow
from internal_affairs.extensions import db
from internal_affairs.jobs.lease import acquire_lease, get_lease, release_lease
from internal_affairs.notify.actions import notify
from internal_affairs.notify.models import OutboxMessage
from internal_affairs.org.models import Person
from tests.support.app import load_demo
from tests.support.channels import SmtpServer, WebhookReceiver
from tests.support.scheduler import start_scheduler, wait_for

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def hook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def _daytime() -> datetime:
    """The latest local noon that has passed: outside everyone's default quiet hours (22:00 to
    07:00), so a chat message enqueued then is due at once, whatever hour the suite runs."""
    now = utcnow()
    noon = local_midnight(local_day(now)) + timedelta(hours=12)
    return noon if noon <= now else noon - timedelta(days=1)


def _enqueue(app, count: int, *, channels_note: str = "") -> None:
    with app.app_context():
        people = list(db.session.execute(select(Person).where(Person.mail.is_not(None)).order_by(Person.id)
                                         .limit(count)).scalars())
        assert len(people) == count
        now = _daytime()
        for n, person in enumerate(people, 1):
            notify([person], kind="cases.task.reminder", subject=f"第{n}号通知", body=f"请处理第{n}号事项。",
                   link=f"/cases/{n}", dedupe_key=f"msg:{n}", now=now)
        db.session.commit()


def _subjects(smtp: SmtpServer) -> list[str]:
    return sorted(str(m["Subject"]) for m in list(smtp.messages))


def _stop(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except Exception:
            process.kill()
            process.wait()


def test_killed_mid_batch_and_restarted_neither_loses_nor_repeats(make_app, tmp_path):
    smtp = SmtpServer(hold_at=3).start()
    try:
        app = make_app(IA_SMTP_URL=smtp.url)
        load_demo(app)
        _enqueue(app, 6)
        log = tmp_path / "scheduler.log"
        first = start_scheduler(app, log, "--deliver-seconds", "0.2", "--lease-seconds", "2", "--holder", "first")
        try:
            wait_for(smtp.holding.is_set, what="the third mail to reach the server")
            first.send_signal(signal.SIGKILL)  # mid-batch: two sent, the third in flight, three claimed
            first.wait(timeout=10)
        finally:
            _stop(first)
        smtp.release(accept=False)  # the dead client never got its answer: the mail was not accepted
        assert _subjects(smtp) == ["第1号通知", "第2号通知"]
        with app.app_context():
            claimed = db.session.execute(select(OutboxMessage.claimed_by).where(OutboxMessage.status == "pending",
                                                                                OutboxMessage.channel == "mail"))
            assert set(claimed.scalars()) == {"first"}
            db.session.remove()
        second = start_scheduler(app, log, "--deliver-seconds", "0.2", "--lease-seconds", "2", "--holder", "second")
        try:
            wait_for(lambda: len(smtp.messages) >= 6, what="all six mails")
            with app.app_context():
                wait_for(lambda: _pending(app) == 0, what="every row marked sent")
        finally:
            _stop(second)
        assert _subjects(smtp) == [f"第{n}号通知" for n in range(1, 7)]
        text = log.read_text()
        # the successor took the lease once the dead one's expired, and freed the dead one's claims
        assert "scheduler second: holding the lease; freed 4 claims of a predecessor" in text, text
    finally:
        smtp.stop()


def _pending(app) -> int:
    with app.app_context():
        n = db.session.execute(select(OutboxMessage).where(OutboxMessage.status != "sent")).scalars().all()
        db.session.remove()
        return len(n)


def test_two_schedulers_at_once_deliver_each_message_once(make_app, tmp_path, hook):
    smtp = SmtpServer().start()
    try:
        app = make_app(IA_SMTP_URL=smtp.url, IA_WEBHOOK_URL=hook.url)
        load_demo(app)
        _enqueue(app, 12)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        procs = [start_scheduler(app, log, "--deliver-seconds", "0.2", "--lease-seconds", "10", "--holder", name)
                 for log, name in zip(logs, ("alpha", "beta"))]
        try:
            wait_for(lambda: len(smtp.messages) >= 12 and len(hook.bodies) >= 12, what="every message")
            wait_for(lambda: _pending(app) == 0, what="every row marked sent")
            with app.app_context():
                holder = get_lease().holder
                db.session.remove()
            other = ({"alpha", "beta"} - {holder}).pop()
            other_log = logs[("alpha", "beta").index(other)]
            wait_for(lambda: f"scheduler {other}: waiting" in other_log.read_text(), what="the other to wait")
            # read before stopping: once the holder stops and gives the lease back, the other takes it over
            texts = {name: log.read_text() for log, name in zip(logs, ("alpha", "beta"))}
        finally:
            for proc in procs:
                _stop(proc)
        assert _subjects(smtp) == sorted(f"第{n}号通知" for n in range(1, 13))
        assert sorted(b["markdown"]["title"] for b in hook.bodies) == sorted(f"第{n}号通知" for n in range(1, 13))
        holders = [name for name, text in texts.items() if f"scheduler {name}: holding the lease" in text]
        assert holders == [holder], texts
        assert f"scheduler {other}: waiting, the lease is held by {holder}" in texts[other], texts
    finally:
        smtp.stop()


def test_once_runs_the_jobs_only_when_the_lease_is_free(make_app, tmp_path):
    smtp = SmtpServer().start()
    try:
        app = make_app(IA_SMTP_URL=smtp.url)
        load_demo(app)
        _enqueue(app, 2)
        with app.app_context():
            assert acquire_lease("someone-else", now=utcnow(), ttl=timedelta(minutes=5))
            db.session.remove()
        refused = start_scheduler(app, tmp_path / "once.log", "--once", "--holder", "late")
        assert refused.wait(timeout=60) == 3
        assert smtp.messages == []
        with app.app_context():
            assert release_lease("someone-else")
            db.session.remove()
        ran = start_scheduler(app, tmp_path / "once.log", "--once", "--holder", "late")
        assert ran.wait(timeout=60) == 0
        assert _subjects(smtp) == ["第1号通知", "第2号通知"]
        with app.app_context():
            assert get_lease().holder is None  # --once gives the lease back
    finally:
        smtp.stop()


def test_the_lease_goes_to_one_holder_until_it_expires(app):
    t0 = datetime(2026, 12, 2, 4, 0)
    ttl = timedelta(seconds=30)
    with app.app_context():
        assert acquire_lease("a", now=t0, ttl=ttl)
        assert not acquire_lease("b", now=t0 + timedelta(seconds=29), ttl=ttl)
        assert acquire_lease("a", now=t0 + timedelta(seconds=20), ttl=ttl)  # renewed until t0+50s
        assert not acquire_lease("b", now=t0 + timedelta(seconds=45), ttl=ttl)
        assert acquire_lease("b", now=t0 + timedelta(seconds=51), ttl=ttl)
        assert not acquire_lease("a", now=t0 + timedelta(seconds=52), ttl=ttl)  # a lost it; renewing fails
        assert get_lease().holder == "b"
        assert not release_lease("a")
        assert release_lease("b")
        assert acquire_lease("a", now=t0 + timedelta(seconds=53), ttl=ttl)


def test_a_job_of_a_scheduler_that_lost_its_lease_does_nothing(make_app):
    from internal_affairs.jobs.scheduler import SchedulerOptions, bind, deliver_outbox_job, lease_lost

    smtp = SmtpServer().start()
    try:
        app = make_app(IA_SMTP_URL=smtp.url)
        load_demo(app)
        _enqueue(app, 2)
        bind(app, SchedulerOptions(holder="paused", lease_seconds=30))
        with app.app_context():
            assert acquire_lease("successor", now=utcnow(), ttl=timedelta(minutes=5))
            db.session.remove()
        deliver_outbox_job()  # woke up after its lease went to a successor
        assert smtp.messages == [] and lease_lost()
        with app.app_context():
            release_lease("successor")
            db.session.remove()
        deliver_outbox_job()
        assert _subjects(smtp) == ["第1号通知", "第2号通知"]
    finally:
        smtp.stop()
