"""The catalog, guide pages and the route preview through the API, after a directory sync."""

from __future__ import annotations

import pytest

from tests.support.app import api_token, csrf_token, login


@pytest.fixture
def c(catalog_app):
    return catalog_app.test_client()


def preview(c, headers, matter, form, **extra):
    return c.post("/api/v1/route-preview", json={"matter_type": matter, "form": form, **extra}, headers=headers)


LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家事"}
OVERSEAS = {"destinations": ["JP"], "start_date": "2027-01-04", "end_date": "2027-01-08", "purpose": "tourism",
            "reason": "旅游"}


def approvers(step):
    return step["approvers"]


def test_matter_types_lists_the_first_catalog(c):
    headers = api_token(c, "xujing")
    items = c.get("/api/v1/matter-types", headers=headers).get_json()
    assert {m["code"] for m in items} >= {"leave", "business_trip", "overtime", "overseas_travel"}
    leave = next(m for m in items if m["code"] == "leave")
    assert leave["time_limit"] == "3" and any(m["deferrable"] for m in leave["materials"])
    assert next(f for f in leave["fields"] if f["code"] == "period")["keys"]["start"] == "start_date"


def test_leave_one_day_goes_one_level_up(c):
    headers = api_token(c, "xujing")
    body = preview(c, headers, "leave", LEAVE).get_json()
    steps = {s["name"]: s for s in body["steps"]}
    assert approvers(steps["领导审批"]) == ["zhangwei"]
    assert not steps["干部备案"]["applies"]
    assert "linxiaoyan" in approvers(steps["考勤登记"]) and steps["考勤登记"]["mode"] == "any"
    assert body["people"]["zhangwei"]["name"] == "张伟"


def test_leave_length_counts_working_days_not_calendar_days(c):
    headers = api_token(c, "xujing")
    # Fri 2026-12-04 to Mon 2026-12-07: four calendar days, two working days
    body = preview(c, headers, "leave", LEAVE | {"start_date": "2026-12-04"}).get_json()
    assert body["facts"]["leave_working_days"] == "2"
    assert approvers(body["steps"][0]) == ["zhangwei", "lixiaohong"]
    long = preview(c, headers, "leave", LEAVE | {"end_date": "2026-12-11"}).get_json()
    assert approvers(long["steps"][0]) == ["zhangwei", "lixiaohong", "wangguodong"]


def test_principal_leader_overseas_travel_worked_example(c):
    headers = api_token(c, "wangguodong")
    body = preview(c, headers, "overseas_travel", OVERSEAS).get_json()
    assert body["variant"] == "区管干部"
    first, parallel, org, passport = body["steps"]
    assert approvers(first) == ["fanghuimin"], "his own case goes to the district leader in charge"
    branches = {b["name"]: b for b in parallel["branches"]}
    assert approvers(branches["纪委审查"]) and not approvers(branches["分管区领导审批"])
    assert branches["分管区领导审批"]["skipped"][0]["uid"] == "fanghuimin"
    assert branches["分管区领导审批"]["skipped"][0]["reason"] == "duplicate"
    assert approvers(org) and approvers(passport)


def test_plain_staff_overseas_travel(c):
    headers = api_token(c, "xujing")
    body = preview(c, headers, "overseas_travel", OVERSEAS).get_json()
    assert body["variant"] == "其他人员"
    assert [approvers(s) for s in body["steps"]][:3] == [["zhangwei"], ["lixiaohong"], ["wangguodong"]]


def test_overtime_auto_approval(c):
    headers = api_token(c, "xujing")
    short = preview(c, headers, "overtime", {"date": "2026-12-05", "hours": "3", "reason": "值班",
                                             "compensation": "time_off"}).get_json()
    assert short["steps"][0]["auto_outcome"] == "approved"
    long = preview(c, headers, "overtime", {"date": "2026-12-05", "hours": 6, "reason": "值班",
                                            "compensation": "time_off"}).get_json()
    assert long["steps"][0]["auto_outcome"] == "fallback" and approvers(long["steps"][0]) == ["zhangwei"]


def test_agency_without_hr_sends_error_task_to_admins(c):
    headers = api_token(c, "yujiaqi")
    body = preview(c, headers, "leave", LEAVE).get_json()
    hr_step = body["steps"][-1]
    assert hr_step["error"] and hr_step["error_assignees"] == ["shenliheng"]


@pytest.mark.parametrize("matter, form, field", [
    ("leave", LEAVE | {"end_date": "2026-12-01"}, "end_date"),
    ("leave", LEAVE | {"leave_type": "holiday"}, "leave_type"),
    ("leave", LEAVE | {"start_date": "07/12/2026"}, "start_date"),
    ("leave", LEAVE | {"colour": "red"}, "colour"),
    ("leave", {k: v for k, v in LEAVE.items() if k != "reason"}, "reason"),
    ("leave", LEAVE | {"reason": "长" * 5000}, "reason"),
    ("leave", LEAVE | {"start_half": "pm", "end_half": "am"}, "end_half"),
    ("overtime", {"date": "2026-12-05", "hours": "many", "reason": "x", "compensation": "none"}, "hours"),
    ("overtime", {"date": "2026-12-05", "hours": 99, "reason": "x", "compensation": "none"}, "hours"),
    ("overseas_travel", OVERSEAS | {"destinations": ["XX"]}, "destinations"),
    ("overseas_travel", OVERSEAS | {"destinations": "JP; DROP TABLE"}, "destinations"),
])
def test_bad_forms_get_422_per_field(c, matter, form, field):
    headers = api_token(c, "xujing")
    response = preview(c, headers, matter, form)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert field in error["fields"] and error["fields"][field]


@pytest.mark.parametrize("body, status", [
    ({"matter_type": "nope", "form": {}}, 404),
    ({"form": {}}, 422),
    ({"matter_type": "leave", "form": []}, 422),
    ({"matter_type": ["leave"], "form": {}}, 404),
    ({"matter_type": "leave", "form": LEAVE, "extra": 1}, 422),
])
def test_bad_preview_requests(c, body, status):
    headers = api_token(c, "xujing")
    assert c.post("/api/v1/route-preview", json=body, headers=headers).status_code == status


def test_hr_previews_for_own_agency_only(c):
    hr = api_token(c, "linxiaoyan")
    ok = preview(c, hr, "leave", LEAVE, applicant="xujing")
    assert ok.status_code == 200 and ok.get_json()["applicant"] == "xujing"
    assert preview(c, hr, "leave", LEAVE, applicant="hanzhengqing").status_code == 403
    clerk = api_token(c, "xujing")
    assert preview(c, clerk, "leave", LEAVE, applicant="zhangwei").status_code == 403
    assert preview(c, hr, "leave", LEAVE, applicant="ghost").status_code == 404


def test_guide_page_shows_materials_and_preview(c):
    login(c, "wangguodong")
    page = c.get("/matters/overseas_travel").get_data(as_text=True)
    assert "因私出国（境）" in page and "容缺" in page and "政策依据" in page and "证照归还" in page
    token = csrf_token(c, "/matters/overseas_travel")
    response = c.post("/matters/overseas_travel", data={
        "csrf_token": token, "destinations": ["JP", "KR"], "start_date": "2027-01-04", "end_date": "2027-01-08",
        "purpose": "tourism", "reason": "旅游"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "方慧敏" in page and "与上一步审批人相同" in page
    bad = c.post("/matters/overseas_travel", data={"csrf_token": token, "start_date": "2027-01-08",
                                                    "end_date": "2027-01-04"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)


def test_catalog_page(c):
    login(c, "xujing")
    page = c.get("/matters/").get_data(as_text=True)
    assert "请假" in page and "出差" in page and "加班" in page
    assert c.get("/matters/nope").status_code == 404


def test_calendar_api_and_admin_override(c):
    headers = api_token(c, "xujing")
    body = c.get("/api/v1/calendar?from=2026-02-14&to=2026-02-28", headers=headers).get_json()
    days = {d["date"]: d for d in body["days"]}
    assert days["2026-02-14"]["working_day"] and not days["2026-02-16"]["working_day"]
    assert c.get("/api/v1/calendar?from=2031-01-01&to=2031-01-03", headers=headers).get_json()["estimated_years"] == [2031]
    assert c.put("/api/v1/calendar/2026-12-07", json={"working_day": False}, headers=headers).status_code == 403
    admin = api_token(c, "shenliheng")
    assert c.put("/api/v1/calendar/2026-12-07", json={"working_day": "no"}, headers=admin).status_code == 422
    assert c.put("/api/v1/calendar/2026-13-07", json={"working_day": False}, headers=admin).status_code == 400
    assert c.put("/api/v1/calendar/2026-12-07", json={"working_day": False, "note": "区委通知"}, headers=admin).status_code == 200
    body = preview(c, headers, "leave", LEAVE | {"start_date": "2026-12-04", "end_date": "2026-12-08"}).get_json()
    assert body["facts"]["leave_working_days"] == "2", "Mon 7 Dec is now a day off"
    assert c.delete("/api/v1/calendar/2026-12-07", headers=admin).status_code == 204
    login(c, "shenliheng")
    assert "调整某一天" in c.get("/matters/calendar?month=2026-12").get_data(as_text=True)


def test_calendar_page_edits_and_bad_dates(c):
    login(c, "shenliheng")
    token = csrf_token(c, "/matters/calendar?month=2026-12")
    ok = c.post("/matters/calendar", data={"csrf_token": token, "day": "2026-12-07", "working_day": "0",
                                           "note": "区委通知调休", "action": "set"})
    assert ok.status_code == 302
    page = c.get("/matters/calendar?month=2026-12").get_data(as_text=True)
    assert 'data-date="2026-12-07"' in page and "调整" in page
    bad = c.post("/matters/calendar", data={"csrf_token": token, "day": "2026-13-40", "working_day": "1"},
                 follow_redirects=True)
    assert bad.status_code == 200 and "日期格式不正确" in bad.get_data(as_text=True)
    login(c, "xujing")
    token = csrf_token(c, "/matters/calendar")
    refused = c.post("/matters/calendar", data={"csrf_token": token, "day": "2026-12-08", "working_day": "0"},
                     follow_redirects=True)
    assert "只有系统管理员" in refused.get_data(as_text=True)
