"""Races on PostgreSQL and on the embedded SQLite file: people deciding the same ``any`` step at
once, both branches of a parallel step decided at once, and simultaneous submissions in one agency. Exactly one decision wins, a
decision that waited for the lock works on what its predecessor left, case numbers stay gapless
and the audit chain unbroken."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from internal_affairs.audit.actions import verify_chain
from internal_affairs.audit.models import AuditEvent
from internal_affairs.cases import actions
from internal_affairs.cases.models import Case, CaseStep, Task
from internal_affairs.cases.queries import case_to_json
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.queries import get_person_by_uid
from tests.support.app import PG_URL, api_token, load_catalog_with
from tests.support.race import race


LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}


@pytest.fixture
def c(catalog_app):
    return catalog_app


def test_racing_decisions_on_an_any_step_yield_one_winner(c):
    client = c.test_client()
    applicant = api_token(client, "xujing")
    holders = {uid: api_token(client, uid) for uid in ("linxiaoyan", "huangzhiqiang")}
    for _round in range(3):
        case = client.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE}, headers=applicant).get_json()
        task = next(t for t in case["steps"][0]["tasks"] if t["status"] == "pending")
        client.post(f"/api/v1/tasks/{task['id']}/decision", json={"decision": "approve"},
                    headers=api_token(client, task["assignee"]))
        case = client.get(f"/api/v1/cases/{case['id']}", headers=applicant).get_json()
        hr_tasks = {t["assignee"]: t["id"] for t in case["steps"][2]["tasks"] if t["status"] == "pending"}
        assert set(hr_tasks) == set(holders)
        calls = [("POST", f"/api/v1/tasks/{hr_tasks[uid]}/decision", holders[uid], {"decision": "done"})
                 for uid in holders for _ in range(5)]
        results = race(c, calls)
        statuses = sorted(s for s, _ in results)
        assert statuses.count(200) == 1 and statuses.count(409) == len(calls) - 1, statuses
        assert all(body["error"]["code"] == "stale_decision" for s, body in results if s == 409)
        final = client.get(f"/api/v1/cases/{case['id']}", headers=applicant).get_json()
        decided = [t for t in final["steps"][2]["tasks"] if t["status"] == "done"]
        assert final["status"] == "approved" and len(decided) == 1


def _simultaneous_submissions(app, each: int) -> list:
    """Eight people of one agency submit ``each`` leaves at the same moment; all must succeed."""
    client = app.test_client()
    people = ["xujing", "guolei", "zhangwei", "lixiaohong", "linxiaoyan", "liujia", "wumin", "huangzhiqiang"]
    tokens = {uid: api_token(client, uid) for uid in people}
    calls = [("POST", "/api/v1/cases", tokens[uid], {"matter_type": "leave", "form": LEAVE})
             for uid in people for _ in range(each)]
    results = race(app, calls)
    assert all(status == 201 for status, _ in results), [b for s, b in results if s != 201][:3]
    return results


def test_simultaneous_submissions_get_gapless_numbers(c):
    results = _simultaneous_submissions(c, 2)
    numbers = sorted(int(body["number"].rsplit("-", 1)[1]) for _, body in results)
    assert numbers == list(range(1, len(results) + 1))
    assert all(body["number"].startswith("区教育局-") for _, body in results)


def test_concurrent_writers_keep_one_unbroken_audit_chain(c):
    """Simultaneous submissions all append to the one chain: every sequence number once, each
    event linked to the one before, ``verify_chain`` passes."""
    _simultaneous_submissions(c, 3)
    with c.app_context():
        report = verify_chain()
        seqs = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all()
    assert report.ok and report.checked == len(seqs)
    assert seqs == list(range(1, len(seqs) + 1))


PARALLEL = {
    "code": "parallel_race_test", "name": "并联测试", "category": "测试", "basis": "测试", "owner_role": "hr",
    "time_limit": 2,
    "fields": [{"code": "reason", "label": "事由", "type": "text", "required": True}],
    "route": [
        {"name": "并联审查", "time_limit": 1, "parallel": [
            {"name": "甲", "approvers": {"kind": "person", "uid": "zhangwei"}},
            {"name": "乙", "approvers": {"kind": "person", "uid": "lixiaohong"}}]},
        {"name": "主要领导审批", "approvers": {"kind": "principal_leader"}, "time_limit": 1},
    ],
}


@pytest.fixture
def parallel_app(demo_app, tmp_path):
    load_catalog_with(demo_app, tmp_path / "catalog", PARALLEL)
    return demo_app


@pytest.mark.skipif(not PG_URL, reason="forces an interleaving of PostgreSQL row locks; SQLite takes the "
                                           "whole database's write lock at BEGIN, so a decision never waits mid-read")
def test_a_decision_that_waited_for_the_lock_sees_the_steps_its_predecessor_left(parallel_app, monkeypatch):
    """Both branches of a parallel step decided at the same moment: the second decision waits for
    the first one's lock and must then work on the steps as the first one left them (its branch
    done), not as they were when it started waiting, or the step would never finish."""
    app = parallel_app
    with app.app_context():
        case = actions.do_create_case("parallel_race_test", {"reason": "并联"}, applicant=get_person_by_uid("xujing"),
                                      now=utcnow(), submit=True)
        case_id = case.id
        tasks = {uid: next(t.id for t in case.tasks if t.assignee_id == get_person_by_uid(uid).id)
                 for uid in ("zhangwei", "lixiaohong")}
    first_holds_lock, release_first = threading.Event(), threading.Event()
    commit = actions.commit_keeping_state

    def held_commit():
        if threading.current_thread().name == "first":
            first_holds_lock.set()
            release_first.wait(20)
        commit()

    monkeypatch.setattr(actions, "commit_keeping_state", held_commit)
    errors, answers = [], {}

    def decide(uid):
        try:
            with app.app_context():
                person = get_person_by_uid(uid)
                case = actions.do_decide(tasks[uid], "approve", acting_user=person, roles=set(), now=utcnow(),
                                         comment="同意")
                answers[uid] = {t["id"]: t["status"] for s in case_to_json(case, person)["steps"] for t in s["tasks"]}
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=decide, args=("zhangwei",), name="first")
    second = threading.Thread(target=decide, args=("lixiaohong",), name="second")
    first.start()
    assert first_holds_lock.wait(20)
    second.start()
    with app.app_context():
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        deadline = time.monotonic() + 20
        while not db.session.execute(text(waiting)).scalar() and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.02)
        db.session.rollback()
    release_first.set()
    first.join(20)
    second.join(20)
    assert errors == []
    with app.app_context():
        steps = db.session.execute(select(CaseStep).where(CaseStep.case_id == case_id)
                                   .order_by(CaseStep.index)).scalars().all()
        assert steps[0].status == "done" and sorted(steps[0].progress["done_branches"]) == ["乙", "甲"]
        assert steps[1].status == "active"
        assert db.session.get(Case, case_id).current_step == steps[1].index
        assert db.session.execute(select(Task).where(Task.step_id == steps[1].id)).scalars().all()
    assert answers["lixiaohong"][tasks["zhangwei"]] == "approved", \
        "the tasks that came with the lock were read again once it was granted"
