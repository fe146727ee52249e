"""The auditor's workspace over HTTP: who may use it (others get 404), the search filters and
paging of ``GET /api/v1/audit/events`` and the page, a case's trail, the audited CSV and JSON
exports, and verification from the API and the page."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import update

from internal_affairs.extensions import db
from tests.support.app import csrf_token, login
from tests.support.audit import make_audit_key, tampering, window
from tests.support.cases import LEAVE, open_task, submit, token


@pytest.fixture
def ws(make_app, tmp_path):
    from tests.support.app import load_catalog, load_demo

    app = make_app(IA_AUDIT_KEY_FILE=str(make_audit_key(tmp_path, kind="rsa")), IA_AUDIT_KEY_PASSWORD="audit-pw",
                   IA_AUDIT_ANCHOR_FILE=str(tmp_path / "anchor.jsonl"))
    load_demo(app)
    load_catalog(app)
    c = app.test_client()
    case = submit(c, "xujing", "leave", LEAVE)
    made = c.post("/api/v1/delegations", headers=token(c, "zhangwei"), json={"delegate": "yangfan"} | window())
    assert made.status_code == 201, made.get_json()
    decided = c.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision", headers=token(c, "yangfan"),
                     json={"decision": "approve", "comment": "同意（代）"})
    assert decided.status_code == 200, decided.get_json()
    app.case = case
    app.c = c
    return app


def _events(c, uid, **params):
    return c.get("/api/v1/audit/events", query_string=params, headers=token(c, uid))


@pytest.mark.parametrize("uid", ["xujing", "zhangwei", "linxiaoyan"])
def test_others_get_404_everywhere(ws, uid):
    c = ws.c
    headers = token(c, uid)
    assert c.get("/api/v1/audit/events", headers=headers).status_code == 404
    assert c.get("/api/v1/audit/verify", headers=headers).status_code == 404
    assert c.post("/api/v1/audit/export", json={"format": "csv"}, headers=headers).status_code == 404
    for body in ({"format": "xls"}, {"filters": 3}, {"filters": {"from": "昨天"}}, [1]):  # 404 before reading it
        assert c.post("/api/v1/audit/export", json=body, headers=headers).status_code == 404
    assert c.post("/api/v1/audit/checkpoints", headers=headers).status_code == 404
    page = ws.test_client()
    login(page, uid)
    assert page.get("/audit").status_code == 404 and page.get("/audit/verify").status_code == 404
    for form in ({"format": "csv"}, {"format": "csv", "from": "昨天"}, {"format": "xls"}):
        form["csrf_token"] = csrf_token(page, "/")
        assert page.post("/audit/export", data=form).status_code == 404
    assert "审计" not in page.get("/").get_data(as_text=True).split("<nav", 1)[1].split("</nav>", 1)[0]


def test_search_by_person_case_action_and_time(ws):
    c, case = ws.c, ws.case
    by_person = _events(c, "haowenbo", person="xujing").get_json()
    assert by_person["total"] >= 3 and all("xujing" in (e["actor"], e["on_behalf_of"]) for e in by_person["items"])
    trail = _events(c, "haowenbo", case=case["number"]).get_json()
    assert {e["action"] for e in trail["items"]} >= {"cases.case.created", "cases.case.submitted"}
    assert _events(c, "haowenbo", case=str(case["id"])).get_json()["total"] == trail["total"]
    assert _events(c, "haowenbo", matter="leave").get_json()["total"] == trail["total"]
    assert _events(c, "haowenbo", matter="overtime").get_json()["total"] == 0
    logins = _events(c, "haowenbo", action="auth.").get_json()
    assert logins["total"] > 0 and all(e["action"].startswith("auth.") for e in logins["items"])
    delegations = _events(c, "haowenbo", action="delegation.created").get_json()
    assert delegations["total"] == 1 and delegations["items"][0]["actor"] == "zhangwei"
    on_behalf = _events(c, "haowenbo", person="zhangwei", action="cases.task.decided").get_json()["items"]
    assert [(e["actor"], e["on_behalf_of"]) for e in on_behalf] == [("yangfan", "zhangwei")]
    assert _events(c, "haowenbo", **{"from": "2000-01-01", "to": "2000-01-02"}).get_json()["total"] == 0
    assert _events(c, "haowenbo", **{"from": "2000-01-01"}).get_json()["total"] == \
        _events(c, "haowenbo").get_json()["total"]


def test_search_by_agency_and_paging(ws):
    from sqlalchemy import select

    from internal_affairs.org.models import Person

    with ws.app_context():
        agency = db.session.execute(select(Person.agency_id).where(Person.uid == "xujing")).scalar_one()
    c = ws.c
    found = _events(c, "shenliheng", agency=agency).get_json()
    assert found["total"] > 0
    every = _events(c, "haowenbo", per_page=2).get_json()
    second = _events(c, "haowenbo", per_page=2, page=2).get_json()
    assert len(every["items"]) == 2 and every["items"][0]["seq"] > every["items"][1]["seq"] > second["items"][0]["seq"]


@pytest.mark.parametrize("params, field", [({"from": "昨天"}, "from"), ({"agency": "x"}, "agency"),
                                           ({"from": "2026-02-02", "to": "2026-01-01"}, "to"),
                                           ({"person": "x" * 200}, "person"),
                                           ({"to": "9999-12-31"}, "to"), ({"from": "0001-01-01T00:00+05:00"}, "from"),
                                           ({"from": "9999-12-31T23:00-05:00"}, "from")])
def test_bad_filters_are_422_with_a_chinese_message(ws, params, field):
    response = _events(ws.c, "haowenbo", **params)
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    page = ws.test_client()
    login(page, "haowenbo")
    html = page.get("/audit", query_string=params)
    assert html.status_code == 200 and "必须" in html.get_data(as_text=True)


@pytest.mark.parametrize("case", ["²", "٣", "99999999999999999999", "0"])
def test_a_case_filter_that_is_no_case_id_finds_nothing(ws, case):
    """Not a number an id can be (a superscript, Arabic-Indic digits, past the id range): looked
    up as a case number only, never an error from int() or the database driver."""
    response = _events(ws.c, "haowenbo", case=case)
    assert response.status_code == 200 and response.get_json()["total"] == 0
    page = ws.test_client()
    login(page, "haowenbo")
    assert page.get("/audit", query_string={"case": case}).status_code == 200
    assert page.get(f"/audit/cases/{case}").status_code == 200


def test_csv_export_opens_in_excel_with_chinese_and_is_audited(ws):
    c = ws.c
    response = c.post("/api/v1/audit/export", json={"format": "csv", "filters": {"case": ws.case["number"]}},
                      headers=token(c, "haowenbo"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:4] == ["序号", "时间（UTC）", "动作", "动作名称"] and len(rows) >= 3
    assert any("同意（代）" in cell for row in rows for cell in row)
    audited = _events(c, "haowenbo", action="audit.exported").get_json()["items"]
    assert audited[0]["actor"] == "haowenbo"
    assert audited[0]["data"]["filters"] == {"case": ws.case["number"]} and audited[0]["data"]["count"] == len(rows) - 1


def test_json_export_and_bad_format(ws):
    c = ws.c
    response = c.post("/api/v1/audit/export", json={"format": "json", "filters": {"action": "cases."}},
                      headers=token(c, "tanlixin"))
    body = json.loads(response.get_data())
    assert response.status_code == 200 and body["items"] and all(i["action"].startswith("cases.") for i in body["items"])
    assert c.post("/api/v1/audit/export", json={"format": "xls"}, headers=token(c, "tanlixin")).status_code == 422
    for filters in ("action=cases.", ["cases."], 3):
        response = c.post("/api/v1/audit/export", json={"format": "json", "filters": filters}, headers=token(c, "tanlixin"))
        assert response.status_code == 422 and "filters" in response.get_json()["error"]["fields"]


def test_a_formula_in_the_data_is_not_run_by_a_spreadsheet(ws):
    from datetime import datetime

    from internal_affairs.audit.actions import record_event

    with ws.app_context():
        record_event("test.formula", actor=None, object_type="test", object_id="-2+3", now=datetime(2026, 5, 4),
                     data={"before": '=HYPERLINK("http://x","点我")', "after": "@SUM(1)"})
        db.session.commit()
    rows = list(csv.reader(io.StringIO(ws.c.post("/api/v1/audit/export", json={"format": "csv", "filters": {
        "action": "test.formula"}}, headers=token(ws.c, "haowenbo")).get_data().decode("utf-8-sig"))))
    header, row = rows
    cells = dict(zip(header, row))
    assert cells["变更前"] == "'=HYPERLINK(\"http://x\",\"点我\")" and cells["变更后"] == "'@SUM(1)"
    assert cells["对象"] == "'-2+3"
    assert not any(cell[:1] in "=+-@" for cell in row if cell)


def test_verify_from_api_and_page_and_the_first_bad_event_explained(ws):
    c = ws.c
    assert c.post("/api/v1/audit/checkpoints", headers=token(c, "shenliheng")).status_code == 201
    report = c.get("/api/v1/audit/verify", headers=token(c, "haowenbo")).get_json()
    assert report["ok"] and report["checkpoints_ok"] and report["first_bad"] is None
    assert set(report) >= {"ok", "checked", "first_bad", "checkpoints_ok", "last_checkpoint"}
    from internal_affairs.audit.models import AuditEvent

    with ws.app_context(), tampering(db.session):
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor_label="someone"))
    report = c.get("/api/v1/audit/verify", headers=token(c, "haowenbo")).get_json()
    assert not report["ok"] and report["first_bad"] == 3 and report["first_bad_event"]["seq"] == 3
    page = ws.test_client()
    login(page, "tanlixin")
    html = page.get("/audit/verify").get_data(as_text=True)
    assert 'data-ok="false"' in html and "第 3 条记录的哈希、链接或序号不符" in html and 'data-seq="3"' in html


def test_the_pages_search_show_a_case_trail_and_export(ws):
    page = ws.test_client()
    login(page, "haowenbo")
    html = page.get("/audit", query_string={"case": ws.case["number"]}).get_data(as_text=True)
    assert "提交申请" in html and 'id="export-csv"' in html
    trail = page.get(f"/audit/cases/{ws.case['number']}").get_data(as_text=True)
    assert "创建申请" in trail and "提交申请" in trail
    response = page.post("/audit/export", data={"csrf_token": csrf_token(page, "/audit"), "format": "csv",
                                                 "case": ws.case["number"]})
    assert response.status_code == 200 and response.get_data().startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["Content-Disposition"]
    for bad in ({"format": "csv", "from": "昨天"}, {"format": "xls"}):  # back to the search, with the reason
        refused = page.post("/audit/export", data=bad | {"csrf_token": csrf_token(page, "/audit")},
                            headers={"Referer": "/audit"})
        assert refused.status_code == 303 and refused.headers["Location"].endswith("/audit")
        assert "flash-error" in page.get("/audit").get_data(as_text=True)


def test_the_page_takes_beijing_days_and_the_api_utc_days(ws):
    """An event at 17:00 UTC on 4 May is on 5 May in Beijing: the page finds it on the 5th, the
    API (UTC days) on the 4th."""
    from datetime import datetime

    from internal_affairs.audit.actions import record_event

    with ws.app_context():
        record_event("test.late", actor=None, object_type="test", object_id="深夜", now=datetime(2026, 5, 4, 17, 0))
        db.session.commit()
    c = ws.c
    assert _events(c, "haowenbo", action="test.late", **{"from": "2026-05-04", "to": "2026-05-04"}
                   ).get_json()["total"] == 1
    assert _events(c, "haowenbo", action="test.late", **{"from": "2026-05-05", "to": "2026-05-05"}
                   ).get_json()["total"] == 0
    page = ws.test_client()
    login(page, "haowenbo")
    day5 = page.get("/audit", query_string={"action": "test.late", "from": "2026-05-05", "to": "2026-05-05"})
    day4 = page.get("/audit", query_string={"action": "test.late", "from": "2026-05-04", "to": "2026-05-04"})
    assert "深夜" in day5.get_data(as_text=True) and "深夜" not in day4.get_data(as_text=True)
