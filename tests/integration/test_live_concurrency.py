"""A small office at once against a live threaded server: simultaneous logins, submissions,
decisions on distinct tasks and approvers racing one ``any`` step. On the embedded SQLite file
(the ``make run`` default) as on PostgreSQL: every answer 2xx or the race's clean 409, exactly one
winner, the audit chain verifies, row counts exact."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from internal_affairs.audit.actions import verify_chain
from internal_affairs.audit.models import AuditEvent
from internal_affairs.auth.models import ApiToken
from internal_affairs.cases.models import Case, Task
from internal_affairs.extensions import db
from internal_affairs.org.models import Person
from tests.support.app import PG_URL, csrf_token, load_catalog_with, load_demo
from tests.support.live import call, serve, simultaneously

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
RACERS = ("zhangwei", "lixiaohong", "linxiaoyan", "huangzhiqiang", "wangjianguo", "zhaomin",
          "chenjing", "liuyang", "sunli", "zhouqiang")


def _race_matter(uids: list[str]) -> dict:
    return {
        "code": "race_any_test", "name": "或签竞争测试", "category": "测试", "basis": "测试",
        "owner_role": "hr", "time_limit": 2,
        "fields": [{"code": "reason", "label": "事由", "type": "text", "required": True}],
        "route": [{"name": "或签", "mode": "any", "time_limit": 1,
                   "approvers": [{"kind": "person", "uid": uid} for uid in uids]}],
    }


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {m.__tablename__: _count(m) for m in (AuditEvent, ApiToken, Case, Task)}
        db.session.rollback()
        return counts


@pytest.fixture
def office(make_app, tmp_path):
    """The demo district with the shipped catalog and a matter whose one step ten people may
    decide (或签); the people of the office are the first 40 active people who are not admins."""
    app = make_app()
    load_demo(app)
    with app.app_context():
        people = db.session.execute(select(Person.uid).where(Person.active.is_(True))
                                    .order_by(Person.id)).scalars().all()
        db.session.rollback()
    racers = [uid for uid in RACERS if uid in people]
    if len(racers) < 10:
        racers += [uid for uid in people if uid not in racers and uid != "shenliheng"][:10 - len(racers)]
    load_catalog_with(app, tmp_path / "catalog", _race_matter(racers))
    app.office_people = [uid for uid in people if uid not in racers and uid != "shenliheng"]
    app.racers = racers
    return app


def _login(address, uid: str) -> dict[str, str]:
    answer = call(address, "POST", "/api/v1/auth/token", {"username": uid, "password": "demo1234"})
    assert answer.status == 200, answer.body
    return {"Authorization": f"Bearer {answer.body['token']}"}


def test_a_small_office_at_once(office):
    applicants = office.office_people[:20]
    assert len(applicants) == 20
    with serve(office) as address:
        before = _counts(office)
        logins = simultaneously(address, [("POST", "/api/v1/auth/token",
                                           {"username": uid, "password": "demo1234"}, None)
                                          for uid in applicants])
        assert [a.status for a in logins] == [200] * 20, [a.body for a in logins if a.status != 200]
        after_logins = _counts(office)
        assert after_logins["api_token"] - before["api_token"] == 20
        assert after_logins["audit_event"] - before["audit_event"] == 40  # a login and a token each
        tokens = {uid: {"Authorization": f"Bearer {a.body['token']}"} for uid, a in zip(applicants, logins)}

        submissions = simultaneously(address, [("POST", "/api/v1/cases", {"matter_type": "leave", "form": LEAVE},
                                                tokens[uid]) for uid in applicants])
        assert [a.status for a in submissions] == [201] * 20, [a.body for a in submissions if a.status != 201]
        after_submissions = _counts(office)
        assert after_submissions["case"] - after_logins["case"] == 20
        with office.app_context():
            numbers = db.session.execute(select(Case.number).where(Case.number.is_not(None))).scalars().all()
            db.session.rollback()
        assert len(numbers) == len(set(numbers)) == 20

        first_tasks = []
        for case in submissions:
            task = next(t for step in case.body["steps"] for t in step["tasks"] if t["status"] == "pending")
            first_tasks.append((task["id"], task["assignee"]))
        holders = {uid: tokens.get(uid) or _login(address, uid) for _task, uid in first_tasks}
        tasks_before = _counts(office)
        decisions = simultaneously(address, [("POST", f"/api/v1/tasks/{task}/decision",
                                              {"decision": "approve", "comment": "同意"}, holders[uid])
                                             for task, uid in first_tasks])
        assert [a.status for a in decisions] == [200] * 20, [a.body for a in decisions if a.status != 200]
        with office.app_context():
            decided = db.session.execute(select(func.count()).select_from(Task).where(
                Task.id.in_([t for t, _uid in first_tasks]), Task.status == "approved")).scalar_one()
            db.session.rollback()
        assert decided == 20
        assert _counts(office)["audit_event"] - tasks_before["audit_event"] == 20

        applicant = tokens[applicants[0]]
        case = call(address, "POST", "/api/v1/cases", {"matter_type": "race_any_test", "form": {"reason": "竞争"}},
                    applicant)
        assert case.status == 201, case.body
        pending = {t["assignee"]: t["id"] for t in case.body["steps"][0]["tasks"] if t["status"] == "pending"}
        assert set(pending) == set(office.racers)
        racer_tokens = {uid: _login(address, uid) for uid in office.racers}
        race_before = _counts(office)
        race = simultaneously(address, [("POST", f"/api/v1/tasks/{pending[uid]}/decision",
                                         {"decision": "approve"}, racer_tokens[uid]) for uid in office.racers])
        statuses = sorted(a.status for a in race)
        assert statuses == [200] + [409] * 9, [a.body for a in race]
        assert {a.body["error"]["code"] for a in race if a.status == 409} <= {"stale_decision", "conflict"}
        final = call(address, "GET", f"/api/v1/cases/{case.body['id']}", headers=applicant).body
        assert final["status"] == "approved"
        assert sum(t["status"] == "approved" for t in final["steps"][0]["tasks"]) == 1
        race_after = _counts(office)
        assert race_after["case"] == race_before["case"]

    with office.app_context():
        report = verify_chain()
        db.session.rollback()
    assert report.ok, report


@pytest.mark.skipif(bool(PG_URL), reason="the embedded SQLite file's write lock")
def test_a_database_locked_past_the_timeout_is_a_clean_503(make_app):
    """Another writer holds the file's write lock past the busy timeout: a login answers 503
    ``busy`` with Retry-After, as JSON for the API and as a Chinese page for the browser, and
    writes nothing; pages that only read are served meanwhile (WAL)."""
    app = make_app()
    load_demo(app)
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 100
    with app.app_context():
        db.engine.dispose()  # connections made from here on wait 100 ms for the lock
    client = app.test_client()
    token = csrf_token(client)
    before = _counts(app)
    holder = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"),
                             isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        answer = client.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"})
        assert answer.status_code == 503, answer.get_json()
        assert answer.get_json()["error"]["code"] == "busy"
        assert answer.headers["Retry-After"] == "2"
        page = client.post("/login", data={"username": "xujing", "password": "demo1234", "csrf_token": token})
        assert page.status_code == 503
        assert page.headers["Retry-After"] == "2"
        assert "系统繁忙，请稍后重试。" in page.get_data(as_text=True)
        assert client.get("/login").status_code == 200, "readers never wait for a writer (WAL)"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _counts(app) == before
    assert client.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"}).status_code == 200
