"""Engine rules beyond the first catalog: 会签 (all), 加签 after, re-planning when an approver
leaves, due times restarting after a return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from internal_affairs.audit.models import AuditEvent
from internal_affairs.cases import actions
from internal_affairs.cases.models import Case, CaseStep
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.queries import get_person_by_uid
from tests.support.app import load_catalog_with

COUNTERSIGN = {
    "code": "countersign_test", "name": "会签测试", "category": "测试", "basis": "测试", "owner_role": "hr",
    "time_limit": 2,
    "fields": [{"code": "reason", "label": "事由", "type": "text", "required": True}],
    "route": [
        {"name": "会签", "mode": "all", "approvers": [{"kind": "person", "uid": "zhangwei"},
                                                     {"kind": "person", "uid": "lixiaohong"}], "time_limit": 1},
        {"name": "主要领导审批", "approvers": {"kind": "principal_leader"}, "time_limit": 1},
    ],
}


@pytest.fixture
def app(demo_app, tmp_path):
    load_catalog_with(demo_app, tmp_path / "catalog", COUNTERSIGN)
    return demo_app


def _person(uid):
    return get_person_by_uid(uid)


def _open(case, uid):
    from internal_affairs.cases.models import Task

    return db.session.execute(select(Task).where(Task.case_id == case.id, Task.status == "pending",
                                                 Task.assignee_id == _person(uid).id)).scalars().one()


def _decide(case, uid, decision="approve", **kw):
    task = _open(case, uid)
    return actions.do_decide(task.id, decision, acting_user=_person(uid), roles=set(), now=utcnow(), **kw)


def test_countersign_needs_everyone(app):
    with app.app_context():
        case = actions.do_create_case("countersign_test", {"reason": "x"}, applicant=_person("xujing"),
                                      now=utcnow(), submit=True)
        first = case.steps[0]
        assert first.mode == "all"
        _decide(case, "zhangwei")
        db.session.refresh(first)
        assert first.status == "active", "会签: one approval is not enough"
        _decide(case, "lixiaohong")
        db.session.refresh(first)
        assert first.status == "done" and case.steps[1].status == "active"


def test_add_approver_after_holds_the_step(app):
    with app.app_context():
        case = actions.do_create_case("leave", {"leave_type": "annual", "start_date": "2026-12-07",
                                                "end_date": "2026-12-07", "reason": "x"},
                                      applicant=_person("xujing"), now=utcnow(), submit=True)
        task = _open(case, "zhangwei")
        actions.do_add_approver(task.id, "lixiaohong", acting_user=_person("zhangwei"), roles=set(), now=utcnow(),
                                position="after")
        blocked = _open(case, "lixiaohong")
        assert blocked.blocked_by_task_id == task.id
        _decide(case, "zhangwei")
        step = db.session.get(CaseStep, case.steps[0].id)
        assert step.status == "active", "the added approver still has to act"
        _decide(case, "lixiaohong")
        db.session.refresh(step)
        assert step.status == "done"


def test_planned_approver_who_left_is_replanned_and_recorded(app):
    with app.app_context():
        case = actions.do_create_case("leave", {"leave_type": "annual", "start_date": "2026-12-07",
                                                "end_date": "2026-12-07", "reason": "x"},
                                      applicant=_person("xujing"), now=utcnow(), submit=True)
        _decide(case, "zhangwei", "return", comment="补充")
        hr = _person("linxiaoyan")
        hr.active = False
        db.session.commit()
        actions.do_resubmit(case, None, acting_user=_person("xujing"), now=utcnow())
        # the return went back to the leader step; approve it so that the HR step activates
        _decide(case, "zhangwei")
        hr_step = next(s for s in db.session.get(Case, case.id).steps if s.name == "考勤登记")
        assert "linxiaoyan" not in hr_step.spec["approvers"] and hr_step.spec["approvers"]
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.case.plan_changed")).scalars().all()
        assert events and "linxiaoyan" in events[-1].data["before"]


def test_due_time_restarts_after_a_return(app):
    with app.app_context():
        start = utcnow() - timedelta(days=10)
        case = actions.do_create_case("leave", {"leave_type": "annual", "start_date": "2026-12-07",
                                                "end_date": "2026-12-07", "reason": "x"},
                                      applicant=_person("xujing"), now=start, submit=True)
        first_due = case.steps[0].due_at
        task = _open(case, "zhangwei")
        actions.do_decide(task.id, "return", acting_user=_person("zhangwei"), roles=set(), now=start, comment="补充")
        later = utcnow()
        actions.do_resubmit(case, None, acting_user=_person("xujing"), now=later)
        step = db.session.get(CaseStep, case.steps[0].id)
        assert step.started_at == later and step.due_at > first_due and step.due_at > later
