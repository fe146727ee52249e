"""The shape of the hot requests against the real database: a constant number of SQL statements
however big the case or the box (no N+1), a write on a stale read refused with a clean 409, and
the calendar overrides each process keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from internal_affairs.cases import actions
from internal_affairs.cases.models import Case
from internal_affairs.clock import utcnow
from internal_affairs.errors import StaleStateError
from internal_affairs.extensions import db
from internal_affairs.calendar import queries as calendar_queries
from internal_affairs.calendar.actions import do_set_calendar_override
from internal_affairs.matters.actions import do_load_catalog
from internal_affairs.org.queries import get_person_by_uid
from tests.support.cases import LEAVE, LEAVE_5, decide, open_task, submit, token
from tests.support.statements import counted


def _decide_counted(c, uid, case, **kw):
    task_id = open_task(case, uid)
    token(c, uid)
    with counted(c.application) as statements:
        response = c.post(f"/api/v1/tasks/{task_id}/decision", json={"decision": "approve", "comment": "同意", **kw},
                          headers=token(c, uid))
    assert response.status_code == 200, response.get_json()
    return response.get_json(), len(statements)


def test_a_serial_decision_costs_the_same_however_many_tasks_the_case_has(c):
    case = submit(c, "xujing", "leave", LEAVE_5)  # zhangwei → lixiaohong → wangguodong
    case, first = _decide_counted(c, "zhangwei", case)
    case, second = _decide_counted(c, "lixiaohong", case)
    assert len([t for s in case["steps"] for t in s["tasks"]]) == 3
    assert first == second, "each approval hands the case on with the same statements"
    assert second <= 20


def test_case_detail_costs_the_same_for_a_small_and_a_big_case(c):
    small = submit(c, "xujing", "leave", LEAVE)
    big = submit(c, "xujing", "leave", LEAVE_5)
    for uid in ("zhangwei", "lixiaohong"):
        big = decide(c, uid, big)
    counts = []
    for case in (small, big):
        token(c, "xujing")
        with counted(c.application) as statements:
            assert c.get(f"/api/v1/cases/{case['id']}", headers=token(c, "xujing")).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 10


def test_inbox_costs_the_same_for_one_and_many_items(c):
    counts = []
    for n in (1, 6):
        while len(c.get("/api/v1/inbox", headers=token(c, "zhangwei")).get_json()["items"]) < n:
            submit(c, "xujing", "leave", LEAVE)
        with counted(c.application) as statements:
            assert c.get("/api/v1/inbox", headers=token(c, "zhangwei")).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] == 2, "token and person, then the page with every box's count"


def test_box_counts_are_the_same_on_a_full_and_an_empty_page(c):
    for _ in range(3):
        submit(c, "xujing", "leave", LEAVE)
    full = c.get("/api/v1/inbox?box=todo", headers=token(c, "zhangwei")).get_json()
    empty = c.get("/api/v1/inbox?box=todo&page=9", headers=token(c, "zhangwei")).get_json()
    assert len(full["items"]) == full["total"] == 3 and empty["items"] == []
    assert full["counts"] == empty["counts"] and full["counts"]["todo"] == 3 and empty["total"] == 3
    mine = c.get("/api/v1/inbox?box=mine", headers=token(c, "xujing")).get_json()
    assert mine["counts"]["mine"] == mine["total"] == 3 and mine["counts"]["todo"] == 0
    done = c.get("/api/v1/inbox?box=done", headers=token(c, "zhangwei")).get_json()
    assert done["items"] == [] and done["counts"]["done"] == 0 and done["counts"]["todo"] == 3


def test_a_write_on_a_stale_read_is_refused_and_changes_nothing(demo_app):
    with demo_app.app_context():
        do_load_catalog(acting_user=None, now=utcnow())
        applicant = get_person_by_uid("xujing")
        case = actions.do_create_case("leave", LEAVE, applicant=applicant, now=utcnow(), submit=False)
        case_id, version = case.id, case.version
        # another writer moves the case on after this session read it
        db.session.execute(text('UPDATE "case" SET version = version + 1 WHERE id = :id'), {"id": case_id})
        with pytest.raises(StaleStateError) as refused:
            actions.do_withdraw_case(case, acting_user=applicant, now=utcnow())
        assert refused.value.http_status == 409 and refused.value.code == "stale_decision"
        fresh = db.session.get(Case, case_id)
        db.session.refresh(fresh)
        assert (fresh.status, fresh.version) == ("draft", version), "the refused write and the bump rolled back"


def test_calendar_overrides_are_kept_per_process_and_an_own_change_is_seen_at_once(demo_app, monkeypatch):
    from datetime import date

    day = date(2026, 12, 7)  # a Monday
    clock = [1000.0]
    monkeypatch.setattr(calendar_queries.time, "monotonic", lambda: clock[0])
    with demo_app.app_context():
        admin = get_person_by_uid("shenliheng")
        assert calendar_queries.get_calendar().is_working_day(day)
        do_set_calendar_override(day, False, "区委通知", acting_user=admin, roles={"admin"}, now=utcnow())
        assert not calendar_queries.get_calendar().is_working_day(day), "a change made here is seen at once"
        # another process removes it: seen here only once the kept copy is older than CALENDAR_TTL
        db.session.execute(text("DELETE FROM calendar_override"))
        db.session.commit()
        assert not calendar_queries.get_calendar().is_working_day(day)
        clock[0] += calendar_queries.CALENDAR_TTL + 1
        assert calendar_queries.get_calendar().is_working_day(day)


def test_the_inbox_page_counts_its_boxes_once(c):
    from tests.support.app import login

    for _ in range(2):
        submit(c, "xujing", "leave", LEAVE)
    page = c.application.test_client()
    assert login(page, "zhangwei").status_code in (302, 303)
    with counted(c.application) as statements:
        html = page.get("/inbox").get_data(as_text=True)
    counting = [s for s in statements if "count(*)" in s]
    assert len(counting) == 1, "the page's counts also feed the todo badge"
    assert '<span class="todo-count">2</span>' in html


def test_a_decision_reads_cc_and_files_only_for_a_case_that_has_them(c):
    plain = submit(c, "xujing", "leave", LEAVE_5)
    with_cc = submit(c, "xujing", "leave", LEAVE_5)
    assert c.post(f"/api/v1/cases/{with_cc['id']}/cc", json={"to": ["guolei"]},
                  headers=token(c, "xujing")).status_code == 200
    answer, plain_count = _decide_counted(c, "zhangwei", plain)
    assert answer["cc"] == [] and answer["attachments"] == [] and answer["deferred_materials"] == []
    answer, cc_count = _decide_counted(c, "zhangwei", with_cc)
    assert [entry["uid"] for entry in answer["cc"]] == ["guolei"]
    assert cc_count == plain_count + 2, "the lists and the CC'd person's name are read only for the case with a CC"


def test_what_a_decision_learnt_of_its_case_is_forgotten_when_it_commits(catalog_app):
    """In one session: a decision finds no CC on its case; a CC added afterwards is in the next
    document all the same."""
    from internal_affairs.cases.queries import case_to_json

    with catalog_app.app_context():
        applicant, leader = get_person_by_uid("xujing"), get_person_by_uid("zhangwei")
        case = actions.do_create_case("leave", LEAVE_5, applicant=applicant, now=utcnow(), submit=True)
        task = next(t for t in case.tasks if t.assignee_id == leader.id)
        decided = actions.do_decide(task.id, "approve", acting_user=leader, roles=set(), now=utcnow(), comment="同意")
        assert case_to_json(decided, leader)["cc"] == []
        case = actions.do_cc(db.session.get(Case, case.id), ["guolei"], acting_user=applicant, now=utcnow())
        assert [entry["uid"] for entry in case_to_json(case, applicant)["cc"]] == ["guolei"]


def test_with_no_delegation_in_force_nobody_reads_who_acts_for_whom(c):
    """The statement that loads a case also says whether any delegation is in force; with none,
    neither the decision nor its answer nor the case page reads the delegations (it was a tenth
    statement in every decision)."""
    case = submit(c, "xujing", "leave", LEAVE_5)
    case, _count = _decide_counted(c, "zhangwei", case)
    token(c, "lixiaohong")
    with counted(c.application) as statements:
        response = c.post(f"/api/v1/tasks/{open_task(case, 'lixiaohong')}/decision",
                          json={"decision": "approve"}, headers=token(c, "lixiaohong"))
        assert response.status_code == 200
        assert c.get(f"/api/v1/cases/{case['id']}", headers=token(c, "xujing")).status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT DELEGATION")]
    assert [s for s in statements if "delegation" in s.lower()], "the load asks whether any is in force"


def test_a_finished_case_s_page_reads_its_sealed_record_with_the_other_extras(c):
    """The sealed record comes in the statement that reads CC, attachments and deferred materials:
    a finished case's detail costs what an unfinished one does; the decision that finishes a case
    answers with the record queued (盖章中)."""
    case = submit(c, "xujing", "leave", LEAVE)
    with counted(c.application) as open_case:
        assert c.get(f"/api/v1/cases/{case['id']}", headers=token(c, "xujing")).status_code == 200
    case = decide(c, "zhangwei", case)
    hr = next(t for s in case["steps"] for t in s["tasks"] if t["status"] == "pending")
    response = c.post(f"/api/v1/tasks/{hr['id']}/decision", json={"decision": "done"}, headers=token(c, hr["assignee"]))
    assert response.status_code == 200 and response.get_json()["record"]["status"] == "queued"
    with counted(c.application) as finished:
        answer = c.get(f"/api/v1/cases/{case['id']}", headers=token(c, "xujing")).get_json()
    assert answer["status"] == "approved" and answer["record"]["status"] == "queued"
    assert len(finished) == len(open_case)
