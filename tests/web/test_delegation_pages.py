"""The delegation page (代理设置), the delegate's inbox and case page, and a person's calendar,
through the test client with sessions and CSRF."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from tests.support.app import logged_in
from tests.support.cases import LEAVE, open_task, submit, token


@pytest.fixture
def app(catalog_app):
    return catalog_app


def client_for(app, uid):
    return logged_in(app, uid, "/delegations")


def post(client, path, data=None):
    return client.post(path, data={"csrf_token": client.token, **(data or {})})


def _window():
    now = datetime.now()
    return {"starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")}


def test_delegate_on_the_page_then_the_delegate_decides_from_the_inbox(app):
    api = app.test_client()
    case = submit(api, "xujing", "leave", LEAVE)
    task_id = open_task(case, "zhangwei")
    zhang = client_for(app, "zhangwei")
    page = zhang.get("/delegations").get_data(as_text=True)
    assert 'id="delegate-form"' in page and "请假" in page
    response = post(zhang, "/delegations", _window() | {"delegate": "yangfan", "reason": "外出开会",
                                                         "matter_types": "leave"})
    assert response.status_code == 302
    page = zhang.get("/delegations").get_data(as_text=True)
    assert "已设置代理" in page and "杨帆" in page and 'data-state="active"' in page

    yang = client_for(app, "yangfan")
    inbox = yang.get("/inbox").get_data(as_text=True)
    assert "代 张伟" in inbox and f'data-case="{case["id"]}"' in inbox
    assert re.search(r'class="todo-count">1<', inbox)
    detail = yang.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f'id="decide-{task_id}"' in detail
    decided = post(yang, f"/cases/{case['id']}/tasks/{task_id}/decision", {"decision": "approve", "comment": "同意"})
    assert decided.status_code == 303
    detail = yang.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "杨帆（代张伟）" in detail

    received = yang.get("/delegations").get_data(as_text=True)
    [row_id] = re.findall(r'data-delegation="(\d+)"', received)
    assert post(yang, f"/delegations/{row_id}/revoke").status_code == 302, "the delegate may decline"
    assert 'data-state="revoked"' in zhang.get("/delegations").get_data(as_text=True)
    for refused, message in (("revoke", "该代理已撤销或已到期"), ("confirm", "只有待确认且尚未到期的代理可以确认")):
        assert post(zhang, f"/delegations/{row_id}/{refused}").status_code == 302
        assert message in zhang.get("/delegations").get_data(as_text=True), refused


def test_the_page_reports_bad_input_without_a_500(app):
    xu = client_for(app, "xujing")
    for data in ({"delegate": "xujing"} | _window(), {"delegate": "ghost"} | _window(),
                 {"delegate": "sunhao", "starts_at": "bad", "ends_at": "x"},
                 {"delegate": "sunhao", "starts_at": "9999-12-31", "ends_at": "9999-12-31"},
                 {"delegate": "sunhao", "principal": "zhangwei"} | _window()):
        response = post(xu, "/delegations", data)
        assert response.status_code == 302
        page = xu.get("/delegations").get_data(as_text=True)
        assert "flash-error" in page, data
    assert post(xu, "/delegations/999999/revoke").status_code == 404


def test_one_sets_their_own_default_deputy_on_the_page(app):
    xu = client_for(app, "xujing")
    assert post(xu, "/delegations/default-deputy", {"deputy": "sunhao"}).status_code == 302
    assert 'value="sunhao"' in xu.get("/delegations").get_data(as_text=True)
    me = app.test_client().get("/api/v1/org/people/xujing", headers=token(app.test_client(), "xujing")).get_json()
    assert me["default_deputy"]["uid"] == "sunhao"
    assert post(xu, "/delegations/default-deputy", {"deputy": "xujing"}).status_code == 302
    assert "flash-error" in xu.get("/delegations").get_data(as_text=True)


def test_hr_delegates_for_someone_in_their_agency(app):
    hr = client_for(app, "linxiaoyan")
    page = hr.get("/delegations").get_data(as_text=True)
    assert 'name="principal"' in page
    assert post(hr, "/delegations", _window() | {"principal": "zhangwei", "delegate": "yangfan"}).status_code == 302
    page = hr.get("/delegations").get_data(as_text=True)
    assert 'id="agency"' in page and "张伟 → 杨帆" in page


def test_a_person_s_calendar_shows_absences_and_delegations(app):
    api = app.test_client()
    day = date.today() + timedelta(days=20)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    case = submit(api, "xujing", "leave", LEAVE | {"start_date": day.isoformat(), "end_date": day.isoformat()})
    api.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "sunhao"}, headers=token(api, "xujing"))
    after = api.post(f"/api/v1/tasks/{open_task(case, 'zhangwei')}/decision", json={"decision": "approve"},
                     headers=token(api, "zhangwei")).get_json()
    hr_task = next(t for t in after["steps"][-1]["tasks"] if t["status"] == "pending")
    api.post(f"/api/v1/tasks/{hr_task['id']}/decision", json={"decision": "done"},
             headers=token(api, hr_task["assignee"]))
    month = day.strftime("%Y-%m")
    xu = client_for(app, "xujing")
    page = xu.get(f"/people/xujing/calendar?month={month}").get_data(as_text=True)
    cell = re.search(rf'data-date="{day.isoformat()}">(.*?)</td>', page, re.S).group(1)
    assert "mark-absent" in cell and "mark-deleg" in cell
    assert f'/cases/{case["id"]}' in page and "由 孙浩 代为处理" in page
    sunhao = client_for(app, "sunhao")
    assert "代 徐静 处理" in sunhao.get(f"/people/sunhao/calendar?month={month}").get_data(as_text=True)
    assert sunhao.get("/people/xujing/calendar").status_code == 404, "a colleague does not see it"
    hr = client_for(app, "linxiaoyan")
    hr_page = hr.get(f"/people/xujing/calendar?month={month}").get_data(as_text=True)
    assert "mark-absent" in hr_page and 'id="pick-person"' in hr_page
    picked = hr.get(f"/calendar/person?uid=xujing&month={month}")
    assert picked.status_code == 302 and picked.headers["Location"].endswith(f"/people/xujing/calendar?month={month}")
    assert client_for(app, "hanzhengqing").get("/people/xujing/calendar").status_code == 404
    assert xu.get("/people/xujing/calendar?month=garbage").status_code == 200


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1-01", "1969-12", "2101-01"])
def test_a_calendar_month_out_of_range_shows_the_current_month_not_a_500(app, month):
    xu = client_for(app, "xujing")
    page = xu.get(f"/people/xujing/calendar?month={month}")
    assert page.status_code == 200
    assert date.today().strftime("%Y-%m") in page.get_data(as_text=True)
    assert xu.get(f"/calendar/person?uid=xujing&month={month}").status_code == 302
