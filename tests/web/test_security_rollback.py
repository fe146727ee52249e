"""A 500 never leaves a write behind: a fault injected after an action's writes (its audit event
appended, nothing committed yet) rolls the whole request back, in every action family.

The fault is our own code raising (the audit append, replaced by one that appends and then
fails); the database is the real one, SQLite or PostgreSQL."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.support.app import BASE_DN, DEMO_LDIF, api_token, csrf_token, login
from tests.support.dbstate import row_counts, table_state

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}


class InjectedFault(RuntimeError):
    pass


@pytest.fixture
def fail_after(monkeypatch):
    """``fail_after(module, "cases.case.submitted")``: the module's audit append of that action
    appends (so every write of the action has reached the database) and then raises."""

    def inject(module, action_name: str) -> None:
        real = module.record_event

        def append_then_fail(action, *args, **kwargs):
            result = real(action, *args, **kwargs)
            if action == action_name:
                raise InjectedFault(f"injected after {action}")
            return result

        monkeypatch.setattr(module, "record_event", append_then_fail)

    return inject


def assert_500_wrote_nothing(app, before, response) -> None:
    assert response.status_code == 500, response.get_data(as_text=True)[:300]
    if response.is_json:
        assert response.get_json()["error"]["code"] == "internal"
    assert table_state(app) == before


@pytest.fixture
def world(catalog_app):
    c = catalog_app.test_client()
    tokens = {uid: api_token(c, uid) for uid in ("xujing", "zhangwei", "shenliheng", "linxiaoyan")}
    return c, tokens


def _case(c, tokens, submit: bool) -> dict:
    response = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": submit},
                      headers=tokens["xujing"])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_and_submit(world, fail_after):
    from internal_affairs.cases import actions

    c, tokens = world
    app = c.application
    before = table_state(app)
    fail_after(actions, "cases.case.submitted")
    response = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": True},
                      headers=tokens["xujing"])
    assert_500_wrote_nothing(app, before, response)
    fail_after(actions, "cases.case.created")
    response = c.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": False},
                      headers=tokens["xujing"])
    assert_500_wrote_nothing(app, before, response)


def test_numbers_stay_gapless_after_a_failed_submit(world, fail_after, monkeypatch):
    from internal_affairs.cases import actions

    c, tokens = world
    first = _case(c, tokens, submit=True)["number"]
    draft = _case(c, tokens, submit=False)["id"]
    before = table_state(c.application)
    fail_after(actions, "cases.case.submitted")
    assert_500_wrote_nothing(c.application, before,
                             c.post(f"/api/v1/cases/{draft}/submit", headers=tokens["xujing"]))
    monkeypatch.undo()
    second = c.post(f"/api/v1/cases/{draft}/submit", headers=tokens["xujing"]).get_json()["number"]
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1


def test_decide(world, fail_after):
    from internal_affairs.cases import actions

    c, tokens = world
    case = _case(c, tokens, submit=True)
    task = case["steps"][0]["tasks"][0]["id"]
    before = table_state(c.application)
    fail_after(actions, "cases.task.decided")
    response = c.post(f"/api/v1/tasks/{task}/decision", json={"decision": "approve", "comment": "同意"},
                      headers=tokens["zhangwei"])
    assert_500_wrote_nothing(c.application, before, response)
    again = c.get(f"/api/v1/cases/{case['id']}", headers=tokens["zhangwei"]).get_json()
    assert again["steps"][0]["tasks"][0]["status"] == "pending"


def test_batch_decision_reports_a_fault_as_that_task_s_error(world, fail_after, monkeypatch):
    """Each task of a batch is its own unit of work: a fault in the second leaves the first
    decided (and says so), the second untouched, and is no 500."""
    from internal_affairs.cases import actions

    c, tokens = world
    first, second = (_case(c, tokens, submit=True) for _ in range(2))
    tasks = [first["steps"][0]["tasks"][0]["id"], second["steps"][0]["tasks"][0]["id"]]
    real = actions.record_event

    def fail_on_second(action, *args, **kwargs):
        result = real(action, *args, **kwargs)
        if action == "cases.task.decided" and kwargs.get("data", {}).get("task_id") == tasks[1]:
            raise InjectedFault("injected on the second task")
        return result

    monkeypatch.setattr(actions, "record_event", fail_on_second)
    response = c.post("/api/v1/tasks/batch-decision", json={"task_ids": tasks, "decision": "approve"},
                      headers=tokens["zhangwei"])
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["ok", "error"]
    assert results[1]["error"]["code"] == "internal"
    statuses = [c.get(f"/api/v1/cases/{case['id']}", headers=tokens["zhangwei"]).get_json()["steps"][0]["tasks"][0]["status"]
                for case in (first, second)]
    assert statuses == ["approved", "pending"]


def test_withdraw_and_cc(world, fail_after):
    from internal_affairs.cases import actions

    c, tokens = world
    case = _case(c, tokens, submit=True)
    before = table_state(c.application)
    fail_after(actions, "cases.case.withdrawn")
    assert_500_wrote_nothing(c.application, before, c.post(f"/api/v1/cases/{case['id']}/withdraw",
                                                           json={"reason": "不去了"}, headers=tokens["xujing"]))
    fail_after(actions, "cases.case.cc")
    assert_500_wrote_nothing(c.application, before, c.post(f"/api/v1/cases/{case['id']}/cc",
                                                           json={"to": ["guolei"]}, headers=tokens["xujing"]))
    assert c.get(f"/api/v1/cases/{case['id']}", headers=tokens["xujing"]).get_json()["status"] == "in_progress"


def test_withdraw_from_the_page(world, fail_after):
    from internal_affairs.cases import actions

    c, tokens = world
    case = _case(c, tokens, submit=True)
    page = c.application.test_client()
    login(page, "xujing")
    token = csrf_token(page, f"/cases/{case['id']}")
    before = table_state(c.application)
    fail_after(actions, "cases.case.withdrawn")
    response = page.post(f"/cases/{case['id']}/withdraw", data={"csrf_token": token, "reason": "不去了"})
    assert_500_wrote_nothing(c.application, before, response)


def test_attachments(world, fail_after):
    from internal_affairs.cases import attachments

    c, tokens = world
    draft = _case(c, tokens, submit=False)["id"]
    before = table_state(c.application)
    fail_after(attachments, "cases.attachment.uploaded")
    response = c.post(f"/api/v1/cases/{draft}/attachments", headers=tokens["xujing"], content_type="multipart/form-data",
                      data={"material": "medical_certificate", "file": (BytesIO(b"%PDF-1.4\n%x\n"), "证明.pdf")})
    assert_500_wrote_nothing(c.application, before, response)


def test_calendar_override(world, fail_after):
    from internal_affairs.calendar import actions

    c, tokens = world
    before = table_state(c.application)
    fail_after(actions, "calendar.override.set")
    response = c.put("/api/v1/calendar/2026-12-12", json={"working_day": True, "note": "调休"},
                     headers=tokens["shenliheng"])
    assert_500_wrote_nothing(c.application, before, response)
    days = c.get("/api/v1/calendar?from=2026-12-12&to=2026-12-12", headers=tokens["shenliheng"]).get_json()["days"]
    assert days[0]["working_day"] is False


def test_default_deputy(world, fail_after):
    from internal_affairs.org import actions

    c, tokens = world
    before = table_state(c.application)
    fail_after(actions, "org.person.default_deputy_set")
    response = c.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "guolei"},
                     headers=tokens["shenliheng"])
    assert_500_wrote_nothing(c.application, before, response)


def test_token_issue(world, fail_after):
    """Neither the token nor the login it follows is written: the password check leaves its audit
    event pending for the action that issues the token."""
    from internal_affairs.auth import actions

    c, _tokens = world
    before = table_state(c.application)
    fail_after(actions, "auth.token.issued")
    response = c.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"})
    assert_500_wrote_nothing(c.application, before, response)


def test_session_start(world, fail_after):
    """A login page whose session fails to start leaves neither the session nor the login."""
    from internal_affairs.auth import actions

    c, _tokens = world
    token = csrf_token(c)
    before = table_state(c.application)
    fail_after(actions, "auth.session.started")
    response = c.post("/login", data={"username": "xujing", "password": "demo1234", "csrf_token": token})
    assert_500_wrote_nothing(c.application, before, response)


def test_org_sync_apply(app, fail_after):
    from internal_affairs.clock import utcnow
    from internal_affairs.org import actions

    before = table_state(app)
    fail_after(actions, "org.sync.applied")
    with app.app_context():
        with pytest.raises(InjectedFault):
            actions.do_sync(acting_user=None, config=app.config, now=utcnow(), source=DEMO_LDIF, base_dn=BASE_DN)
    assert table_state(app) == before


def test_an_unhandled_error_discards_what_the_request_left_pending(make_app):
    """Outside any action (a view that flushed and then failed), the error handler rolls back
    before any later hook could commit what was left in the session."""
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.calendar.models import CalendarOverride

    app = make_app()

    def half_write():
        from datetime import date

        db.session.add(CalendarOverride(day=date(2026, 12, 12), is_working_day=True, note="x", updated_at=utcnow()))
        db.session.flush()
        raise InjectedFault("after the flush")

    def commit_whatever_is_pending(response):
        db.session.commit()
        return response

    app.add_url_rule("/_test/half-write", "half_write", half_write)
    app.after_request(commit_whatever_is_pending)
    before = table_state(app)
    response = app.test_client().get("/_test/half-write")
    assert response.status_code == 500
    assert table_state(app) == before


def test_a_page_refused_for_its_input_flashes_what_is_wrong_with_each_field(make_app):
    """A validation error a page's view leaves to the shared handler goes back to the page with
    the fields' reasons, not only the generic "提交的内容有误"."""
    from internal_affairs.errors import ValidationError

    app = make_app()

    def refuse():
        raise ValidationError(fields={"start_date": "开始日期不能晚于结束日期。", "reason": "请填写事由。"})

    app.add_url_rule("/_test/refuse", "refuse", refuse)
    client = app.test_client()
    response = client.get("/_test/refuse", headers={"Referer": "/login"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "开始日期不能晚于结束日期。；请填写事由。" in page
