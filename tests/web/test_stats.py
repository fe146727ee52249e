"""The supervision dashboard and 好差评 through the client: who sees what, the API and its 400s,
the page with its SVG charts and print view, and rating a finished case on the page and the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.support.app import csrf_token, login
from tests.support.cases import LEAVE, decide, submit, token
from tests.support.stats import PERIOD, insert_dataset

WINDOW = {"from": PERIOD[0], "to": PERIOD[1]}


@pytest.fixture
def c(catalog_app):
    client = catalog_app.test_client()
    client.tokens = {}
    return client


def stats(c, uid, **args):
    return c.get("/api/v1/stats", query_string=WINDOW | args, headers=token(c, uid))


def agency_id(app, name):
    from internal_affairs.extensions import db
    from internal_affairs.org.models import Agency

    with app.app_context():
        return db.session.execute(select(Agency.id).where(Agency.name == name)).scalar_one()


@pytest.mark.parametrize("uid", ["fanghuimin", "zhouqiming", "duhaiyan", "yuanzhenhua"])
def test_district_leaders_and_the_organisation_department_see_every_agency(catalog_app, c, uid):
    insert_dataset(catalog_app)
    response = stats(c, uid)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["scope"] == "district"
    assert {a["agency"]["name"] for a in data["by_agency"]} == {"区教育局", "区财政局"}


@pytest.mark.parametrize("uid", ["wangguodong", "lixiaohong", "linxiaoyan"])
def test_an_agencys_leaders_and_hr_see_their_agency_only(catalog_app, c, uid):
    insert_dataset(catalog_app)
    data = stats(c, uid).get_json()
    assert data["scope"] == "agencies"
    assert [a["agency"]["name"] for a in data["by_agency"]] == ["区教育局"]
    assert data["totals"]["volume"] == 4 and data["ratings"]["count"] == 2
    assert stats(c, uid, agency=str(agency_id(catalog_app, "区财政局"))).status_code == 404
    assert stats(c, uid, agency=str(agency_id(catalog_app, "区教育局"))).status_code == 200


@pytest.mark.parametrize("uid", ["xujing", "zhangwei", "yemingxuan"])
def test_everyone_else_gets_404_on_the_api_and_the_page(catalog_app, c, uid):
    response = stats(c, uid)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert login(c, uid).status_code in (302, 303)
    assert c.get("/stats").status_code == 404
    assert "效能监察" not in c.get("/").get_data(as_text=True)


@pytest.mark.parametrize("args, code", [
    ({"from": "2026-13-01"}, "bad_date"), ({"to": "yesterday"}, "bad_date"),
    ({"from": "2026-10-16", "to": "2026-10-01"}, "bad_range"), ({"from": "2024-01-01", "to": "2026-01-01"}, "bad_range"),
    ({"matter_type": "no_such_matter"}, "bad_matter_type"), ({"agency": "教育局"}, "bad_agency"),
    ({"agency": "-3"}, "bad_agency"), ({"agency": "99999999999"}, "bad_agency"), ({"agency": "²"}, "bad_agency"),
])
def test_bad_filters_are_400_with_a_chinese_message(c, args, code):
    response = stats(c, "fanghuimin", **args)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code and re.search(r"[\u4e00-\u9fff]", error["message"])


def test_an_unknown_agency_is_404(c):
    assert stats(c, "fanghuimin", agency="999999").status_code == 404
    assert stats(c, "fanghuimin", agency="2147483648").status_code == 400, "past an INTEGER id: refused, not a 500"


def test_the_page_draws_svg_charts_filters_and_a_print_view(catalog_app, c):
    insert_dataset(catalog_app)
    assert login(c, "fanghuimin").status_code in (302, 303)
    assert "效能监察" in c.get("/").get_data(as_text=True)
    response = c.get("/stats", query_string=WINDOW | {"matter_type": "leave"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<svg") >= 4 and "<script" not in html.split("</head>", 1)[1]
    assert 'href="/static/stats.css' in html and "style=" not in html  # CSP: no inline style
    assert 'data-kpi="volume">3<' in html  # leave submitted in the period: A, B (区教育局), F (区财政局)
    assert 'data-kpi="finished">4<' in html  # leave finished in it: A, B, G, D
    assert '<option value="leave" selected>' in html
    assert "节后补交" not in html and "太慢了，节后才批" in html  # a low rating is listed with its comment
    printing = c.get("/stats", query_string=WINDOW | {"print": "1"}).get_data(as_text=True)
    assert "print-view" in printing
    css = c.get("/static/stats.css").get_data(as_text=True)
    assert "@media print" in css and "@media (max-width: 700px)" in css


def test_the_page_answers_a_bad_filter_with_400_and_a_message(c):
    assert login(c, "fanghuimin").status_code in (302, 303)
    response = c.get("/stats", query_string={"from": "2026-10-16", "to": "2026-10-01"})
    assert response.status_code == 400 and "开始日期不能晚于结束日期" in response.get_data(as_text=True)


def _finished_leave(c):
    case = submit(c, "xujing", "leave", LEAVE)
    case = decide(c, "zhangwei", case)
    return decide(c, "linxiaoyan", case, decision="done", comment="已登记")


def rate(c, uid, case, **body):
    return c.post(f"/api/v1/cases/{case['id']}/rating", json=body, headers=token(c, uid))


def test_the_applicant_rates_a_finished_case_once_and_it_is_audited(catalog_app, c):
    from internal_affairs.audit.models import AuditEvent
    from internal_affairs.extensions import db

    case = submit(c, "xujing", "leave", LEAVE)
    response = rate(c, "xujing", case, score=5)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_finished"
    assert c.get(f"/api/v1/cases/{case['id']}/rating", headers=token(c, "xujing")).get_json() == {
        "rating": None, "can_rate": False}
    malformed = c.post(f"/api/v1/cases/{case['id']}/rating", data="{", content_type="application/json",
                       headers=token(c, "xujing"))
    assert malformed.status_code == 400
    case = decide(c, "zhangwei", case)
    case = decide(c, "linxiaoyan", case, decision="done", comment="已登记")
    assert rate(c, "zhangwei", case, score=5).status_code == 403  # an approver sees the case, cannot rate it
    assert rate(c, "wumin", case, score=5).status_code == 404  # someone who cannot see it
    for bad in ({"score": 0}, {"score": 6}, {"score": "5"}, {"score": True}, {},
                {"score": 4, "comment": "慢" * 501}, {"score": 4, "comment": 7}):
        response = rate(c, "xujing", case, **bad)
        assert response.status_code == 422, bad
        assert re.search(r"[\u4e00-\u9fff]", str(response.get_json()["error"]))
    ask = c.get(f"/api/v1/cases/{case['id']}/rating", headers=token(c, "xujing")).get_json()
    assert ask == {"rating": None, "can_rate": True}
    response = rate(c, "xujing", case, score=2, comment="  等了很久  ")
    assert response.status_code == 201
    assert response.get_json() | {"created_at": None} == {"case_id": case["id"], "score": 2, "comment": "等了很久",
                                                          "created_at": None}
    seen = c.get(f"/api/v1/cases/{case['id']}/rating", headers=token(c, "zhangwei")).get_json()
    assert seen["rating"]["score"] == 2 and seen["can_rate"] is False
    assert c.get(f"/api/v1/cases/{case['id']}/rating", headers=token(c, "wumin")).status_code == 404
    again = rate(c, "xujing", case, score=5)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    with catalog_app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "cases.case.rated")).scalars().all()
        assert [(e.object_id, e.data["score"]) for e in events] == [(str(case["id"]), 2)]
    data = c.get("/api/v1/stats", headers=token(c, "wangguodong")).get_json()  # the default period: today
    assert data["ratings"]["count"] == 1 and data["ratings"]["low_items"][0]["case_id"] == case["id"]
    assert {(r["step"], r["count"]) for r in data["ratings"]["by_step"]} >= {(case["steps"][0]["name"], 1)}
    assert data["totals"]["finished"] == 1 and data["totals"]["one_trip_rate"] == 1.0


def test_the_case_page_offers_the_rating_form_to_the_applicant_only(catalog_app, c):
    case = _finished_leave(c)
    approver = catalog_app.test_client()
    assert login(approver, "zhangwei").status_code in (302, 303)
    assert 'id="rating"' not in approver.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert login(c, "xujing").status_code in (302, 303)
    page = c.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'id="rating"' in page and 'name="score"' in page
    token_ = csrf_token(c, f"/cases/{case['id']}")
    for bad in ("9", "²", "9" * 5000):
        response = c.post(f"/cases/{case['id']}/rating", data={"csrf_token": token_, "score": bad})
        assert response.status_code == 303, bad
        page = c.get(response.headers["Location"]).get_data(as_text=True)
        assert "评分必须是 1 到 5 的整数" in page and "提交的内容有误" not in page  # one flash: what is wrong
    response = c.post(f"/cases/{case['id']}/rating", data={"csrf_token": token_, "score": "4", "comment": "顺利"})
    assert response.status_code == 303
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "感谢您的评价" in page and "顺利" in page and 'name="score"' not in page
    assert 'id="rating"' in approver.get(f"/cases/{case['id']}").get_data(as_text=True)  # the rating is shown


def test_openapi_documents_stats_and_rating(c):
    spec = c.get("/api/v1/openapi.json").get_json()
    assert {"agency", "matter_type", "from", "to"} == {p["name"] for p in spec["paths"]["/stats"]["get"]["parameters"]}
    assert "400" in spec["paths"]["/stats"]["get"]["responses"]
    assert spec["paths"]["/cases/{id}/rating"]["post"]["requestBody"]
