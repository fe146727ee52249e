"""Delegation (代理) end to end through the API and the services, on SQLite and PostgreSQL: the
delegate sees the principal's tasks marked 代 张伟 and decides them as 杨帆（代张伟）; the principal
can still act and whoever acts first wins; scope, window edges, chains, the applicant as
delegate (the manager stands in), revocation, HR and validation, automatic delegation from an
approved leave."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.app import login
from tests.support.cases import LEAVE, TRIP, get, open_task, submit, token
from tests.support.race import race

_NOW = datetime.now().replace(microsecond=0)
WIDE = {"starts_at": (_NOW - timedelta(days=1)).isoformat() + "+08:00",
        "ends_at": (_NOW + timedelta(days=60)).isoformat() + "+08:00"}
"""A window around the moment the tests run (the API reads the wall clock)."""


def delegate(c, who, to, *, by=None, status=201, **extra):
    """``who`` delegates to ``to`` (``by`` another person acting, e.g. HR with ``principal=``)."""
    response = c.post("/api/v1/delegations", json={"delegate": to, **WIDE, **extra}, headers=token(c, by or who))
    assert response.status_code == status, response.get_json()
    return response.get_json()


def todo(c, uid):
    return c.get("/api/v1/inbox?box=todo", headers=token(c, uid)).get_json()


def decide_as(c, uid, task_id, decision="approve", **extra):
    return c.post(f"/api/v1/tasks/{task_id}/decision", json={"decision": decision, "comment": "同意", **extra},
                  headers=token(c, uid))


def notified(c, uid):
    """The kinds of ``uid``'s in-app notifications, newest first."""
    return [n["kind"] for n in c.get("/api/v1/notifications", headers=token(c, uid)).get_json()["items"]]


def task_json(case, task_id):
    return next(t for s in case["steps"] for t in s["tasks"] if t["id"] == task_id)


def test_the_delegate_sees_the_task_marked_and_decides_it_on_behalf(c, catalog_app):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    assert todo(c, "yangfan")["total"] == 0
    d = delegate(c, "zhangwei", "yangfan", reason="外出开会")
    assert d["state"] == "active" and d["principal"]["uid"] == "zhangwei" and d["source"] == "manual"

    inbox = todo(c, "yangfan")
    assert inbox["total"] == inbox["counts"]["todo"] == 1
    [item] = inbox["items"]
    assert item["task"]["id"] == task_id and item["task"]["on_behalf_of"]["uid"] == "zhangwei"
    assert item["task"]["on_behalf_label"] == "代 张伟"
    assert todo(c, "zhangwei")["items"][0]["task"]["on_behalf_of"] is None, "the principal's own task is plain"

    seen = get(c, "yangfan", case)
    assert seen["capabilities"]["decide"] == {str(task_id): ["approve", "reject", "return"]}
    assert [t["id"] for t in seen["my_tasks"]] == [task_id]

    response = decide_as(c, "yangfan", task_id)
    assert response.status_code == 200, response.get_json()
    done = task_json(response.get_json(), task_id)
    assert (done["acted_by"], done["on_behalf_of"], done["acted_label"]) == ("yangfan", "zhangwei", "杨帆（代张伟）")
    assert todo(c, "yangfan")["total"] == 0
    assert c.get("/api/v1/inbox?box=done", headers=token(c, "yangfan")).get_json()["total"] == 1

    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.extensions import db
    from internal_affairs.org.queries import get_person_by_uid

    with catalog_app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.task.decided")
                                   .order_by(AuditEvent.seq.desc())).scalars().first()
        assert event.actor_id == get_person_by_uid("yangfan").id
        assert event.on_behalf_of_id == get_person_by_uid("zhangwei").id
        assert event.data["acted_label"] == "杨帆（代张伟）" and event.data["on_behalf_of"] == "zhangwei"
        created = db.session.execute(select(AuditEvent).where(AuditEvent.action == "delegation.created")).scalars().one()
        assert created.data["delegate"] == "yangfan"

    login(c, "xujing")
    page = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "杨帆（代张伟）" in page


@pytest.mark.parametrize("first, second", [("zhangwei", "yangfan"), ("yangfan", "zhangwei")],
                         ids=["principal-first", "delegate-first"])
def test_whoever_of_principal_and_delegate_acts_second_gets_409(c, first, second):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan")
    assert decide_as(c, first, task_id).status_code == 200
    late = decide_as(c, second, task_id)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "stale_decision"


def test_principal_and_delegate_racing_yield_one_decision(c, catalog_app):
    for _round in range(3):
        case = submit(c, "xujing", "leave", LEAVE)
        task_id = open_task(case, "zhangwei")
        if _round == 0:
            delegate(c, "zhangwei", "yangfan")
        calls = [("POST", f"/api/v1/tasks/{task_id}/decision", token(c, uid), {"decision": "approve"})
                 for uid in ("zhangwei", "yangfan") for _ in range(3)]
        results = race(catalog_app, calls)
        statuses = sorted(s for s, _ in results)
        assert statuses.count(200) == 1 and statuses.count(409) == len(calls) - 1, results
        final = get(c, "xujing", case)
        decided = [t for t in final["steps"][0]["tasks"] if t["status"] == "approved"]
        assert len(decided) == 1 and final["steps"][0]["status"] == "done"


def test_matter_scope_limits_what_the_delegate_sees(c):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan", matter_types=["business_trip"])
    assert todo(c, "yangfan")["total"] == 0
    assert decide_as(c, "yangfan", task_id).status_code == 404
    trip = submit(c, "xujing", "business_trip", TRIP)
    trip_task = open_task(trip, "zhangwei")
    assert [i["task"]["id"] for i in todo(c, "yangfan")["items"]] == [trip_task]


def test_validation_and_permissions(c):
    assert delegate(c, "xujing", "xujing", status=422)["error"]["fields"]["delegate"]
    assert delegate(c, "xujing", "ghost", status=422)["error"]["fields"]["delegate"]
    assert delegate(c, "xujing", None, status=422)["error"]["fields"] == {"delegate": "请填写代理人的用户名。"}
    assert delegate(c, "xujing", "sunhao", status=422, principal=7)["error"]["fields"] == {
        "principal": "请填写委托人的用户名。"}
    bad = delegate(c, "xujing", "sunhao", status=422, starts_at="2030-01-02T00:00", ends_at="2030-01-01T00:00")
    assert "ends_at" in bad["error"]["fields"]
    assert "starts_at" in delegate(c, "xujing", "sunhao", status=422, starts_at="明天")["error"]["fields"]
    assert "matter_types" in delegate(c, "xujing", "sunhao", status=422, matter_types=["nope"])["error"]["fields"]
    assert "matter_types" in delegate(c, "xujing", "sunhao", status=422, matter_types="leave")["error"]["fields"]
    assert "start" in delegate(c, "xujing", "sunhao", status=422, start="2030-01-01")["error"]["fields"], "a typo"
    for edge in ({"starts_at": "9999-12-31T23:00", "ends_at": "9999-12-31"},
                 {"starts_at": "0001-01-01T00:00", "ends_at": "2030-01-01"}):
        assert delegate(c, "xujing", "sunhao", status=422, **edge)["error"]["fields"], "the calendar's edge: no 500"
    over = delegate(c, "xujing", "sunhao", status=422, starts_at="2020-01-01", ends_at="2020-01-02")
    assert "ends_at" in over["error"]["fields"]
    refused = delegate(c, "xujing", "sunhao", status=403, principal="zhangwei")
    assert refused["error"]["code"] == "forbidden"
    foreign = delegate(c, "hanzhengqing", "yanming", by="linxiaoyan", status=403, principal="hanzhengqing")
    assert foreign["error"]["code"] == "forbidden", "HR of one agency does not delegate for another"
    by_hr = delegate(c, "zhangwei", "yangfan", by="linxiaoyan", principal="zhangwei")
    assert by_hr["principal"]["uid"] == "zhangwei" and by_hr["created_by"]["uid"] == "linxiaoyan"
    shanghai = delegate(c, "xujing", "sunhao", starts_at="2030-01-01T09:00", ends_at="2030-01-01")
    assert shanghai["starts_at"] == "2030-01-01T01:00:00Z" and shanghai["ends_at"] == "2030-01-01T16:00:00Z"
    assert shanghai["state"] == "scheduled"
    listed = c.get("/api/v1/delegations", headers=token(c, "zhangwei")).get_json()
    assert [d["id"] for d in listed["items"]] == [by_hr["id"]]
    hr_list = c.get("/api/v1/delegations?scope=agency", headers=token(c, "linxiaoyan")).get_json()
    assert {d["id"] for d in hr_list["items"]} == {by_hr["id"], shanghai["id"]}
    assert c.get(f"/api/v1/delegations/{by_hr['id']}", headers=token(c, "hanzhengqing")).status_code == 404
    me = c.get("/api/v1/me", headers=token(c, "yangfan")).get_json()
    assert [(d["direction"], d["principal"]["uid"]) for d in me["delegations"]] == [("received", "zhangwei")]
    me = c.get("/api/v1/me", headers=token(c, "zhangwei")).get_json()
    assert [(d["direction"], d["delegate"]["uid"]) for d in me["delegations"]] == [("given", "yangfan")]


def test_revocation_keeps_the_row_and_ends_the_right(c):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    d = delegate(c, "zhangwei", "yangfan")
    assert c.delete(f"/api/v1/delegations/{d['id']}", headers=token(c, "xujing")).status_code == 404
    assert c.delete(f"/api/v1/delegations/{d['id']}", headers=token(c, "sunhao")).status_code == 404
    revoked = c.delete(f"/api/v1/delegations/{d['id']}", headers=token(c, "zhangwei"))
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert revoked.get_json()["revoked_by"]["uid"] == "zhangwei"
    again = c.delete(f"/api/v1/delegations/{d['id']}", headers=token(c, "zhangwei"))
    assert again.status_code == 409
    assert todo(c, "yangfan")["total"] == 0
    assert decide_as(c, "yangfan", task_id).status_code == 404
    listed = c.get("/api/v1/delegations", headers=token(c, "zhangwei")).get_json()["items"]
    assert [x["state"] for x in listed] == ["revoked"]
    for uid in ("zhangwei", "yangfan"):
        assert [k for k in notified(c, uid) if k.startswith("delegation.")] == ["delegation.revoked",
                                                                               "delegation.created"], uid


def test_a_chain_of_delegations_reaches_three_hops_and_no_further(c):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan")
    delegate(c, "yangfan", "sunhao")
    delegate(c, "sunhao", "huting")
    delegate(c, "huting", "guolei")
    for uid in ("yangfan", "sunhao", "huting"):
        assert [i["task"]["id"] for i in todo(c, uid)["items"]] == [task_id], uid
    assert todo(c, "guolei")["total"] == 0
    assert decide_as(c, "guolei", task_id).status_code == 404
    response = decide_as(c, "huting", task_id)
    assert response.status_code == 200
    assert task_json(response.get_json(), task_id)["acted_label"] == "胡婷（代张伟）"


def test_a_loop_of_delegations_ends(c):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan")
    delegate(c, "yangfan", "zhangwei")
    assert [i["task"]["id"] for i in todo(c, "yangfan")["items"]] == [task_id]
    assert [i["task"]["id"] for i in todo(c, "zhangwei")["items"]] == [task_id]


def test_the_applicant_as_delegate_never_decides_and_the_manager_stands_in(c, catalog_app):
    delegate(c, "zhangwei", "xujing")
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    assert todo(c, "xujing")["total"] == 0
    refused = decide_as(c, "xujing", task_id)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "self_approval"
    inbox = todo(c, "lixiaohong")  # zhangwei's manager
    assert [i["task"]["id"] for i in inbox["items"]] == [task_id]
    response = decide_as(c, "lixiaohong", task_id)
    assert response.status_code == 200, response.get_json()
    done = task_json(response.get_json(), task_id)
    assert done["acted_label"] == "李晓红（代张伟）" and "上级领导代为处理" in done["note"]
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.extensions import db

    with catalog_app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.task.decided")
                                   .order_by(AuditEvent.seq.desc())).scalars().first()
        assert event.data["delegation_reason"] == "manager_for_applicant"


@pytest.mark.parametrize("path,body", [("transfer", {}), ("consult", {}), ("add-approver", {"position": "before"})])
def test_no_hand_on_by_a_delegate_reaches_the_applicant(c, path, body):
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan")
    refused = c.post(f"/api/v1/tasks/{task_id}/{path}", json={"to": "xujing", **body}, headers=token(c, "yangfan"))
    assert refused.status_code in (403, 422) and refused.get_json()["error"]["code"] == "self_approval"
    handed = c.post(f"/api/v1/tasks/{task_id}/{path}", json={"to": "sunhao", **body}, headers=token(c, "yangfan"))
    assert handed.status_code == 200, handed.get_json()


def test_a_delegate_s_transfer_to_the_applicant_s_own_delegate_still_never_lets_the_applicant_decide(c):
    delegate(c, "sunhao", "xujing")  # sunhao, not the holder, delegates to the applicant
    case = submit(c, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    delegate(c, "zhangwei", "yangfan")
    handed = c.post(f"/api/v1/tasks/{task_id}/transfer", json={"to": "sunhao"}, headers=token(c, "yangfan"))
    assert handed.status_code == 200
    new_id = open_task(handed.get_json(), "sunhao")
    assert todo(c, "xujing")["total"] == 0
    refused = decide_as(c, "xujing", new_id)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "self_approval"


def test_the_delegate_may_copy_the_case_to_someone(c):
    case = submit(c, "xujing", "leave", LEAVE)
    assert c.post(f"/api/v1/cases/{case['id']}/cc", json={"to": ["sunhao"]}, headers=token(c, "yangfan")).status_code == 404
    delegate(c, "zhangwei", "yangfan")
    copied = c.post(f"/api/v1/cases/{case['id']}/cc", json={"to": ["sunhao"]}, headers=token(c, "yangfan"))
    assert copied.status_code == 200 and [x["uid"] for x in copied.get_json()["cc"]] == ["sunhao"]


def test_batch_decision_by_a_delegate(c):
    cases = [submit(c, "xujing", "leave", LEAVE) for _ in range(2)]
    ids = [open_task(case, "zhangwei") for case in cases]
    delegate(c, "zhangwei", "yangfan")
    result = c.post("/api/v1/tasks/batch-decision", json={"task_ids": ids, "decision": "approve"},
                    headers=token(c, "yangfan")).get_json()
    assert [r["status"] for r in result["results"]] == ["ok", "ok"]
    for case, task_id in zip(cases, ids):
        assert task_json(get(c, "xujing", case), task_id)["acted_label"] == "杨帆（代张伟）"


def test_window_edges_and_scope_through_the_service(catalog_app):
    from internal_affairs.cases.access import access_case
    from internal_affairs.delegation.actions import do_create_delegation
    from internal_affairs.delegation.queries import principals_for
    from internal_affairs.extensions import db
    from internal_affairs.org.queries import get_person_by_uid

    client = catalog_app.test_client()
    case_doc = submit(client, "xujing", "leave", LEAVE)
    start = datetime(2030, 3, 1, 1, 0)
    end = start + timedelta(hours=8)
    with catalog_app.app_context():
        zhang, yang = get_person_by_uid("zhangwei"), get_person_by_uid("yangfan")
        do_create_delegation(zhang, yang, start, end, acting_user=zhang, now=start - timedelta(days=1))
        case = access_case(case_doc["id"], zhang, set())
        assert principals_for(case, yang, start - timedelta(seconds=1)) == ()
        assert [p.uid for p in principals_for(case, yang, start)] == ["zhangwei"]
        assert [p.uid for p in principals_for(case, yang, end - timedelta(seconds=1))] == ["zhangwei"]
        assert principals_for(case, yang, end) == ()
        assert principals_for(case, zhang, start) == (), "the holder needs no principal"
        db.session.rollback()


def _approve(c, case):
    """The leader, then HR's 考勤登记: the leave is approved."""
    return _approve_hr(c, decide_as(c, "zhangwei", open_task(case, "zhangwei")).get_json())


def _approve_hr(c, case):
    hr = next(t for t in case["steps"][-1]["tasks"] if t["status"] == "pending")
    done = decide_as(c, hr["assignee"], hr["id"], "done").get_json()
    assert done["status"] in ("approved", "completed"), done
    return done


def _future_leave(days_ahead: int = 20) -> dict:
    day = (date.today() + timedelta(days=days_ahead))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return LEAVE | {"start_date": day.isoformat(), "end_date": day.isoformat()}


def test_an_approved_leave_delegates_to_the_default_deputy(c, catalog_app):
    assert c.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "sunhao"},
                 headers=token(c, "xujing")).status_code == 200
    form = _future_leave()
    case = submit(c, "xujing", "leave", form)
    assert c.get("/api/v1/delegations", headers=token(c, "xujing")).get_json()["items"] == []
    case = decide_as(c, "zhangwei", open_task(case, "zhangwei")).get_json()
    assert c.get("/api/v1/delegations", headers=token(c, "xujing")).get_json()["items"] == [], "not before approval"
    _approve_hr(c, case)
    [auto] = c.get("/api/v1/delegations", headers=token(c, "xujing")).get_json()["items"]
    day = date.fromisoformat(form["start_date"])
    assert auto["source"] == "auto" and auto["delegate"]["uid"] == "sunhao" and auto["state"] == "scheduled"
    assert auto["source_case_id"] == case["id"] and auto["matter_types"] is None
    assert auto["starts_at"] == f"{(day - timedelta(days=1)).isoformat()}T16:00:00Z"
    assert auto["ends_at"] == f"{day.isoformat()}T16:00:00Z"
    received = c.get("/api/v1/delegations", headers=token(c, "sunhao")).get_json()["items"]
    assert [d["id"] for d in received] == [auto["id"]]
    for uid in ("xujing", "sunhao"):  # both are told, once each
        assert notified(c, uid).count("delegation.created") == 1, uid


def test_propose_mode_waits_for_the_principal_and_off_makes_nothing(make_app):
    from tests.support.app import load_catalog, load_demo

    for mode in ("propose", "off"):
        app = make_app(IA_AUTO_DELEGATION=mode)
        load_demo(app)
        load_catalog(app)
        c = app.test_client()
        c.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "sunhao"}, headers=token(c, "xujing"))
        case = submit(c, "xujing", "leave", _future_leave())
        _approve(c, case)
        items = c.get("/api/v1/delegations", headers=token(c, "xujing")).get_json()["items"]
        if mode == "off":
            assert items == []
            continue
        [proposed] = items
        assert proposed["state"] == "proposed"
        assert c.post(f"/api/v1/delegations/{proposed['id']}/confirm", headers=token(c, "sunhao")).status_code == 403
        confirmed = c.post(f"/api/v1/delegations/{proposed['id']}/confirm", headers=token(c, "xujing"))
        assert confirmed.status_code == 200 and confirmed.get_json()["state"] == "scheduled"
        assert c.post(f"/api/v1/delegations/{proposed['id']}/confirm", headers=token(c, "xujing")).status_code == 409


def test_the_delegate_s_inbox_costs_the_same_for_one_and_many_items(c):
    from tests.support.statements import counted

    delegate(c, "zhangwei", "yangfan")
    counts = []
    for n in (1, 4):
        while todo(c, "yangfan")["total"] < n:
            submit(c, "xujing", "leave", LEAVE)
        with counted(c.application) as statements:
            body = c.get("/api/v1/inbox", headers=token(c, "yangfan")).get_json()
        assert body["counts"]["todo"] == n and all(i["task"]["on_behalf_label"] == "代 张伟" for i in body["items"])
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10, counts
    headers = token(c, "zhangwei")  # the principal: their own tasks, and no delegation they may act by
    with counted(c.application) as statements:
        assert c.get("/api/v1/inbox", headers=headers).get_json()["total"] == 4
    assert len(statements) == 2, "nobody else pays for delegations: token and person, then the page"


def test_listing_costs_the_same_however_many_people_the_delegations_name(c, catalog_app):
    from tests.support.statements import counted

    def listed():
        with counted(catalog_app) as statements:
            body = c.get("/api/v1/delegations?scope=agency", headers=headers).get_json()
        return body["total"], len(statements)

    headers = token(c, "linxiaoyan")
    delegate(c, "xujing", "sunhao")
    one = listed()
    delegate(c, "zhangwei", "yangfan")
    delegate(c, "yangfan", "xujing", by="linxiaoyan", principal="yangfan")
    three = listed()
    assert (one[0], three[0]) == (1, 3)
    assert three[1] == one[1], "people are loaded with the list, not one by one"
