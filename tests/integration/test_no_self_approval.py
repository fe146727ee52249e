"""No self-approval by any path (issue 11): the system administrator applying in an agency without
HR never repairs, decides or hands on a task of their own case; the case says it waits for another
administrator, and one configured later picks it up. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.support.app import csrf_token, login

from tests.support.cases import LEAVE, get, submit, token

WAITING = "无其他可处理人，等待系统管理员"


def _tasks(case):
    return [t for s in case["steps"] for t in s["tasks"]]


def _counts(app):
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.cases.models import Case, Task
    from internal_affairs.extensions import db

    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(m)).scalar() for m in (Task, AuditEvent)) + (
            db.session.execute(select(Case.version)).scalars().all(),)


def test_the_only_administrator_applying_gets_no_task_and_the_case_waits(c, catalog_app):
    case = submit(c, "shenliheng", "leave", LEAVE)
    assert case["status"] == "in_progress"
    first = case["steps"][0]
    assert first["status"] == "active" and first["waiting_for_admin"] is True
    [waiting] = first["tasks"]
    assert waiting["assignee"] is None and waiting["kind"] == "error" and waiting["waiting_for_admin"] is True
    assert not any(t["assignee"] == "shenliheng" for t in _tasks(case))
    assert case["my_tasks"] == []

    inbox = c.get("/api/v1/inbox?box=todo", headers=token(c, "shenliheng")).get_json()
    assert inbox["total"] == 0 and inbox["counts"]["todo"] == 0

    token(c, "zhouqiming")  # issuing a token is audited: before the count
    before = _counts(catalog_app)
    for path, body in ((f"/api/v1/tasks/{waiting['id']}/decision", {"decision": "done"}),
                       (f"/api/v1/tasks/{waiting['id']}/transfer", {"to": "zhouqiming"}),
                       (f"/api/v1/tasks/{waiting['id']}/consult", {"to": "zhouqiming"})):
        refused = c.post(path, json=body, headers=token(c, "shenliheng"))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "self_approval", path
    batch = c.post("/api/v1/tasks/batch-decision", json={"task_ids": [waiting["id"]], "decision": "done"},
                   headers=token(c, "shenliheng")).get_json()
    assert batch["results"][0]["error"]["code"] == "self_approval"
    outsider = c.post(f"/api/v1/tasks/{waiting['id']}/decision", json={"decision": "done"},
                      headers=token(c, "zhouqiming"))
    assert outsider.status_code == 404
    assert _counts(catalog_app) == before, "a refused act writes nothing"

    login(c, "shenliheng")
    page = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert WAITING in page and "decide-form" not in page
    posted = c.post(f"/cases/{case['id']}/tasks/{waiting['id']}/decision",
                    data={"decision": "done", "csrf_token": csrf_token(c, f"/cases/{case['id']}")})
    assert posted.status_code == 403
    assert get(c, "shenliheng", case)["status"] == "in_progress"


def test_an_administrator_configured_later_picks_the_case_up(c, catalog_app):
    case = submit(c, "shenliheng", "leave", LEAVE)
    catalog_app.config["SYSTEM_ADMINS"] = ("shenliheng", "zhouqiming")  # IA_ADMINS changed, app restarted

    inbox = c.get("/api/v1/inbox?box=todo", headers=token(c, "zhouqiming")).get_json()
    assert [i["case_id"] for i in inbox["items"]] == [case["id"]] and inbox["counts"]["todo"] == 1
    assert c.get("/api/v1/inbox?box=todo", headers=token(c, "shenliheng")).get_json()["total"] == 0
    viewed = get(c, "zhouqiming", case)
    [mine] = viewed["my_tasks"]
    login(c, "zhouqiming")
    page = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert WAITING in page and f'id="decide-{mine["id"]}"' in page

    response = c.post(f"/api/v1/tasks/{mine['id']}/decision", json={"decision": "done", "comment": "已核实"},
                      headers=token(c, "zhouqiming"))
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    taken = next(t for t in _tasks(case) if t["id"] == mine["id"])
    assert taken["assignee"] == "zhouqiming" and taken["acted_by"] == "zhouqiming" and taken["status"] == "done"
    while case["status"] == "in_progress":  # every later unroutable step waits the same way
        [task] = case["my_tasks"]
        case = c.post(f"/api/v1/tasks/{task['id']}/decision", json={"decision": "done"},
                      headers=token(c, "zhouqiming")).get_json()
    assert case["status"] == "approved"
    acted = {t["acted_by"] for t in _tasks(case) if t["acted_by"]}
    assert acted == {"zhouqiming"}, "nobody but the other administrator acted"


def test_with_another_administrator_the_error_tasks_go_to_them_only(make_app):
    from tests.support.app import load_catalog, load_demo

    app = make_app(IA_ADMINS="shenliheng,zhouqiming")
    load_demo(app)
    load_catalog(app)
    client = app.test_client()
    client.tokens = {}
    case = submit(client, "shenliheng", "leave", LEAVE)
    holders = {t["assignee"] for t in _tasks(case)}
    assert holders == {"zhouqiming"} and not case["steps"][0]["waiting_for_admin"]
    preview = client.post("/api/v1/route-preview", json={"matter_type": "leave", "form": LEAVE},
                          headers=token(client, "shenliheng")).get_json()
    assert all("shenliheng" not in s["error_assignees"] for s in preview["steps"])


def test_a_task_somehow_held_by_the_applicant_is_refused_by_the_engine(c, catalog_app):
    """Defense in depth: whatever put the applicant on their own case's task, the service refuses
    the decision, the hand-ons and the batch."""
    from internal_affairs.cases.models import Task
    from internal_affairs.extensions import db
    from internal_affairs.org.models import Person

    case = submit(c, "xujing", "leave", LEAVE)
    [task] = [t for t in _tasks(case) if t["status"] == "pending"]
    with catalog_app.app_context():
        applicant = db.session.execute(select(Person.id).where(Person.uid == "xujing")).scalar()
        db.session.execute(update(Task).where(Task.id == task["id"]).values(assignee_id=applicant))
        db.session.commit()
    before = _counts(catalog_app)
    for path, body in ((f"/api/v1/tasks/{task['id']}/decision", {"decision": "approve"}),
                       (f"/api/v1/tasks/{task['id']}/transfer", {"to": "lixiaohong"}),
                       (f"/api/v1/tasks/{task['id']}/add-approver", {"to": "lixiaohong"})):
        refused = c.post(path, json=body, headers=token(c, "xujing"))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "self_approval", path
    assert _counts(catalog_app) == before
    assert get(c, "xujing", case)["status"] == "in_progress"
