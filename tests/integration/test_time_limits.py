"""The time-limit scan on real cases: a case submitted just before the National Day holiday is
reminded before its step's due time and marked overdue after it, once each however often the
scan runs; each escalation kind fires once (the manager notified, the task handed to the agency's
HR, the acting delegate told, or the manager when there is none); deferred materials are reminded and marked;
the events show on the case page's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from internal_affairs.audit.models import AuditEvent
from internal_affairs.cases.actions import do_create_case
from internal_affairs.cases.models import Case, Task
from internal_affairs.cases.timelimits import scan_time_limits
from internal_affairs.clock import LOCAL_OFFSET
from internal_affairs.extensions import db
from internal_affairs.jobs.models import TimeMark
from internal_affairs.notify.models import OutboxMessage
from internal_affairs.org.models import Person
from tests.support.app import load_catalog_with, load_demo, login

APPLICANT = "xujing"


def _matter(code: str, on_timeout: str | None, escalate_to: str | None = None, **extra) -> dict:
    step = {"name": "科室审批", "approvers": {"kind": "department_head"}, "time_limit": 1}
    if on_timeout:
        step["on_timeout"] = on_timeout
    if escalate_to:
        step["escalate_to"] = escalate_to
    return {"code": code, "name": f"测试{code}", "category": "测试", "owner_role": "hr", "time_limit": 3,
            "basis": "测试", "fields": [{"code": "reason", "label": "事由", "type": "text", "required": True}],
            "materials": extra.pop("materials", []), "route": [step], **extra}


@pytest.fixture
def tl_app(make_app, tmp_path):
    app = make_app(IA_SMTP_URL="smtp://127.0.0.1:9")
    load_demo(app)
    load_catalog_with(app, tmp_path / "catalog",
                      _matter("t_remind", "remind"),
                      _matter("t_manager", "escalate"),
                      _matter("t_hr", "escalate", "hr"),
                      _matter("t_delegate", "escalate", "delegate"),
                      _matter("t_auto", "auto_approve", remind_before_hours=8),
                      _matter("t_material", None, materials=[{"code": "proof", "name": "证明材料", "required": True,
                                                              "deferrable": True, "supply_days": 2}]))
    return app


def utc(local: str) -> datetime:
    return datetime.fromisoformat(local) - LOCAL_OFFSET


def _person(uid: str) -> Person:
    return db.session.execute(select(Person).where(Person.uid == uid)).scalar_one()


def _submit(code: str, at: datetime, **kwargs) -> Case:
    return do_create_case(code, {"reason": "测试时限"}, applicant=_person(APPLICANT), now=at, submit=True, **kwargs)


def _marks(case_id: int) -> list[tuple[str, str]]:
    return [(m.item_type, m.kind) for m in db.session.execute(
        select(TimeMark).where(TimeMark.case_id == case_id).order_by(TimeMark.id)).scalars()]


def _inapp(uid: str) -> list[str]:
    """The in-app notifications of ``uid`` but those of new tasks (tests/integration/test_task_notifications.py)."""
    return list(db.session.execute(select(OutboxMessage.kind).join(Person, Person.id == OutboxMessage.recipient_id)
                                   .where(Person.uid == uid, OutboxMessage.channel == "inapp",
                                          OutboxMessage.kind != "cases.task.created")
                                   .order_by(OutboxMessage.id)).scalars())


def _open_task(case: Case) -> Task:
    return db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "pending")).scalar_one()


def test_reminder_and_overdue_across_the_holiday_fire_once_each(tl_app):
    with tl_app.app_context():
        case = _submit("t_remind", utc("2025-09-30 10:00"))
        task = _open_task(case)
        assert task.due_at == utc("2025-10-09 17:30")  # one working day after 30 September: the holiday skipped
        holder = task.assignee.uid
        assert scan_time_limits(now=utc("2025-10-09 13:29")).fired == 0
        first = scan_time_limits(now=utc("2025-10-09 13:30"))  # 4 working hours before
        assert (first.reminders, first.overdue) == (1, 0)
        assert scan_time_limits(now=utc("2025-10-09 13:31")).fired == 0
        late = scan_time_limits(now=utc("2025-10-09 17:30"))
        assert (late.overdue, late.escalations) == (1, 0)  # on_timeout: remind escalates nothing
        assert scan_time_limits(now=utc("2025-10-11 09:00")).fired == 0
        assert _marks(case.id) == [("task", "reminder"), ("task", "overdue")]
        assert _inapp(holder) == ["cases.task.reminder", "cases.task.overdue"]
        assert [r.channel for r in db.session.execute(select(OutboxMessage).where(
            OutboxMessage.kind == "cases.task.reminder")).scalars()] == ["inapp", "mail"]
        actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.action.like("cases.time.%"))
                                     .order_by(AuditEvent.seq)).scalars().all()
        assert actions == ["cases.time.reminder", "cases.time.overdue"]
        # the case's promised time limit (3 working days: 14 October, the make-up Saturday counted)
        assert case.due_at == utc("2025-10-11 17:30")
        assert scan_time_limits(now=utc("2025-10-11 17:30")).overdue == 1
        assert _marks(case.id)[-1] == ("case", "overdue")


def test_escalation_to_the_manager_fires_once(tl_app):
    with tl_app.app_context():
        case = _submit("t_manager", utc("2026-12-01 10:00"))
        task = _open_task(case)
        manager = task.assignee.manager
        assert manager is not None
        report = scan_time_limits(now=task.due_at)
        assert (report.overdue, report.escalations) == (1, 1)
        assert scan_time_limits(now=task.due_at + timedelta(hours=1)).fired == 0
        assert _marks(case.id) == [("task", "overdue"), ("task", "escalation")]
        assert _inapp(manager.uid) == ["cases.task.escalation"]
        urgent = db.session.execute(select(OutboxMessage.urgent).where(OutboxMessage.kind == "cases.task.escalation",
                                                                       OutboxMessage.channel == "inapp")).scalar_one()
        assert urgent is True


def test_escalation_to_hr_hands_the_task_to_the_agencys_hr(tl_app):
    with tl_app.app_context():
        case = _submit("t_hr", utc("2026-12-01 10:00"))
        task = _open_task(case)
        was = task.assignee.uid
        report = scan_time_limits(now=task.due_at + timedelta(minutes=1))
        assert report.escalations == 1, report.problems
        db.session.expire_all()
        now_open = _open_task(case)
        assert now_open.assignee.uid != was
        hr = now_open.assignee
        assert "hr" in {g.role_code for g in _roles(hr)}
        assert _inapp(hr.uid) == ["cases.task.escalation"]
        assert now_open.note == "超时未办，由系统按流程转交" and now_open.due_at > task.due_at
        old = db.session.get(Task, task.id)
        assert (old.status, old.acted_by_id) == ("transferred", None), "nobody acted: the platform handed it on"
        [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.task.escalated")).scalars()
        assert event.actor_id is None and event.data["to"] == hr.uid
        assert not db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.task.transferred")).first()
        assert scan_time_limits(now=task.due_at + timedelta(hours=2)).escalations == 0
        kinds = [k for t, k in _marks(case.id)]
        assert kinds.count("escalation") == 1


def _roles(person: Person):
    from internal_affairs.org.models import OrgGroup, OrgGroupMember

    return db.session.execute(select(OrgGroup).join(OrgGroupMember, OrgGroupMember.group_id == OrgGroup.id)
                              .where(OrgGroupMember.person_id == person.id)).scalars().all()


def test_escalation_to_a_delegate_tells_the_acting_delegate_or_else_the_manager(tl_app):
    """``escalate_to: delegate``: the overdue task's holder has a delegation in force, so the
    delegate (who may act for them) is told, once; a holder with none falls back to the manager."""
    from internal_affairs.delegation.actions import do_create_delegation

    with tl_app.app_context():
        case = _submit("t_delegate", utc("2026-12-01 10:00"))
        task = _open_task(case)
        holder, deputy = task.assignee, _person("yangfan")
        do_create_delegation(holder, deputy, task.due_at - timedelta(days=1), task.due_at + timedelta(days=1),
                             acting_user=holder, now=task.due_at - timedelta(days=2))
        assert scan_time_limits(now=task.due_at).escalations == 1
        assert scan_time_limits(now=task.due_at + timedelta(hours=1)).escalations == 0
        assert [k for k in _inapp(deputy.uid) if k.startswith("cases.")] == ["cases.task.escalation"]
        assert [k for k in _inapp(holder.manager.uid) if k.startswith("cases.")] == []
        mark = db.session.execute(select(TimeMark).where(TimeMark.kind == "escalation")).scalar_one()
        assert deputy.name in mark.note and "代理人" in mark.note

        other = _submit("t_delegate", utc("2026-12-01 10:00"))
        second = _open_task(other)
        assert scan_time_limits(now=second.due_at + timedelta(days=2)).escalations == 1
        assert _inapp(second.assignee.manager.uid) == ["cases.task.escalation"]


def test_auto_approve_step_is_approved_by_the_platform_once_and_uses_the_matters_lead(tl_app):
    """``on_timeout: auto_approve``: when the time limit passes the platform approves the task
    (nobody recorded as acting, the system's event), the case moves on, the holder is told."""
    with tl_app.app_context():
        case = _submit("t_auto", utc("2026-12-01 10:00"))
        task = _open_task(case)
        due_local = task.due_at + LOCAL_OFFSET
        assert due_local == datetime(2026, 12, 2, 17, 30)
        # 8 working hours before 17:30 on the 2nd: 17:00 on the 1st
        assert scan_time_limits(now=utc("2026-12-01 16:59")).fired == 0
        assert scan_time_limits(now=utc("2026-12-01 17:00")).reminders == 1
        holder = task.assignee.uid
        assert scan_time_limits(now=task.due_at).escalations == 1
        assert scan_time_limits(now=task.due_at + timedelta(hours=1)).escalations == 0
        db.session.expire_all()
        done = db.session.get(Task, task.id)
        assert (done.status, done.decision, done.acted_by_id) == ("approved", "approve", None)
        assert db.session.get(Case, case.id).status == "approved"
        [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.task.auto_approved")).scalars()
        assert event.actor_id is None
        assert "cases.task.auto_approved" in _inapp(holder)


def test_deferred_material_reminded_and_marked_overdue(tl_app):
    with tl_app.app_context():
        case = _submit("t_material", utc("2026-12-01 10:00"), deferred={"proof": "两日内补交"})
        from internal_affairs.cases.models import CaseMaterial

        material = db.session.execute(select(CaseMaterial).where(CaseMaterial.case_id == case.id)).scalar_one()
        due = material.due_at
        assert scan_time_limits(now=due - timedelta(hours=1)).reminders >= 1
        assert scan_time_limits(now=due).overdue >= 1
        kinds = [(t, k) for t, k in _marks(case.id) if t == "material"]
        assert kinds == [("material", "reminder"), ("material", "overdue")]
        assert _inapp(APPLICANT).count("cases.material.reminder") == 1
        assert _inapp(APPLICANT).count("cases.material.overdue") == 1


def test_the_timeline_shows_the_time_events(tl_app):
    with tl_app.app_context():
        case = _submit("t_manager", utc("2026-12-01 10:00"))
        task = _open_task(case)
        scan_time_limits(now=task.due_at)
        case_id = case.id
    client = tl_app.test_client()
    login(client, APPLICANT)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'class="tl tl-time tl-overdue"' in page and 'class="tl tl-time tl-escalation"' in page
    assert "已超过办理期限" in page and "督办" in page


def test_a_second_scanner_fires_nothing_twice(tl_app):
    with tl_app.app_context():
        case = _submit("t_manager", utc("2026-12-01 10:00"))
        due = _open_task(case).due_at
        a = scan_time_limits(now=due)
        b = scan_time_limits(now=due)
        assert a.fired == 2 and b.fired == 0
        n = db.session.execute(select(func.count()).select_from(OutboxMessage)
                               .where(OutboxMessage.case_id == case.id)).scalar_one()
        assert n == len(set(db.session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.recipient_id,
                                                      OutboxMessage.channel)
                                               .where(OutboxMessage.case_id == case.id)).all()))


def test_post_approval_obligations_are_reminded_and_marked_like_steps(c):
    from tests.support.cases import decide, submit_overseas_travel

    case = submit_overseas_travel(c, "wangguodong")
    while case["status"] == "in_progress":
        step = next(s for s in case["steps"] if s["status"] == "active")
        holder = next(t["assignee"] for t in step["tasks"] if t["status"] == "pending")
        case = decide(c, holder, case, decision="done" if step["kind"] == "handle" else "approve")
    assert case["status"] == "approved"
    ids = sorted(o["id"] for o in case["obligations"])
    with c.application.app_context():
        due = min(db.session.get(Task, i).due_at for i in ids)
        db.session.remove()
        before = scan_time_limits(now=due - timedelta(days=1, hours=1))
        assert before.reminders == 0
        first = scan_time_limits(now=due - timedelta(minutes=1))
        assert first.reminders == 1
        late = scan_time_limits(now=due + timedelta(days=30))
        assert late.overdue >= 1 and late.escalations == 0
        marks = db.session.execute(select(TimeMark.item_id, TimeMark.kind).where(TimeMark.item_type == "task",
                                                                                 TimeMark.item_id.in_(ids))).all()
        # 回国报告 (5 working days) was reminded; 证照归还 (10 days) was first seen overdue: no reminder then
        assert sorted(k for i, k in marks) == ["overdue", "overdue", "reminder"]
        assert scan_time_limits(now=due + timedelta(days=31)).fired <= 1  # only the case's own mark may remain


def test_a_dead_mail_relay_and_webhook_never_fail_a_decision(make_app):
    from tests.support.app import load_catalog
    from tests.support.cases import LEAVE, decide, submit

    app = make_app(IA_SMTP_URL="smtp://127.0.0.1:9", IA_WEBHOOK_URL="http://127.0.0.1:9/robot")
    load_demo(app)
    load_catalog(app)
    client = app.test_client()
    case = submit(client, "xujing", "leave", LEAVE)
    case = decide(client, "zhangwei", case)
    assert case["status"] == "in_progress"
    with app.app_context():
        from internal_affairs.clock import utcnow
        from internal_affairs.notify.case_hooks import do_notify_new_tasks

        assert do_notify_new_tasks(now=utcnow())
        pending = db.session.execute(select(OutboxMessage.channel).where(OutboxMessage.status == "pending")).scalars().all()
        assert set(pending) == {"mail", "chat"}  # waiting for the scheduler, which retries them later


def test_two_scanners_at_the_same_moment_fire_each_event_once(tl_app):
    import threading

    with tl_app.app_context():
        cases = [_submit("t_manager", utc("2026-12-01 10:00")) for _ in range(3)]
        due = max(_open_task(case).due_at for case in cases)
        ids = [case.id for case in cases]
    reports, errors = [], []
    start = threading.Barrier(2)

    def scan():
        with tl_app.app_context():
            try:
                start.wait(timeout=10)
                reports.append(scan_time_limits(now=due))
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r.overdue for r in reports) == 3 and sum(r.escalations for r in reports) == 3
    with tl_app.app_context():
        for case_id in ids:
            assert sorted(k for _t, k in _marks(case_id)) == ["escalation", "overdue"]
        kinds = db.session.execute(select(OutboxMessage.dedupe_key).where(OutboxMessage.channel == "inapp",
                                                                          OutboxMessage.kind != "cases.task.created")
                                   ).scalars().all()
        assert len(kinds) == len(set(kinds)) == 6


def test_a_case_keeps_its_versions_reminder_lead_after_the_matter_changes(tl_app, tmp_path):
    """The scan looks as far ahead as the longest lead of any version an unfinished case runs
    under: a case submitted under t_auto with 8 hours is reminded 8 working hours ahead even after
    a new version shortened the lead to 2."""
    with tl_app.app_context():
        case = _submit("t_auto", utc("2026-12-01 10:00"))
        assert _open_task(case).due_at + LOCAL_OFFSET == datetime(2026, 12, 2, 17, 30)
    load_catalog_with(tl_app, tmp_path / "catalog-2", _matter("t_auto", "auto_approve", remind_before_hours=2))
    with tl_app.app_context():
        assert scan_time_limits(now=utc("2026-12-01 16:59")).fired == 0
        assert scan_time_limits(now=utc("2026-12-01 17:00")).reminders == 1
        assert _marks(case.id) == [("task", "reminder")]
