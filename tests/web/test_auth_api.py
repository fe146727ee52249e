"""Login pages, bearer tokens, /me and the org API through the HTTP layer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from internal_affairs.extensions import db
from internal_affairs.org.queries import get_person_by_uid
from tests.support.app import api_token, csrf_token, login


def test_login_page_in_chinese_and_english(demo_client):
    page = demo_client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    demo_client.get("/lang/en")
    assert 'lang="en"' in demo_client.get("/login").get_data(as_text=True)


def test_pages_require_login(demo_client):
    response = demo_client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_with_right_and_wrong_password(demo_client):
    assert login(demo_client, "xujing", "wrong-password").status_code == 401
    response = login(demo_client, "xujing")
    assert response.status_code == 302
    home = demo_client.get("/").get_data(as_text=True)
    assert "徐静" in home and "张伟" in home, "the leader chain is on the home page"


def test_login_form_without_csrf_token_is_rejected(demo_client):
    response = demo_client.post("/login", data={"username": "xujing", "password": "demo1234"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)


def test_open_redirect_is_not_followed(demo_client):
    token = csrf_token(demo_client)
    response = demo_client.post("/login?next=https://evil.example/", data={
        "username": "xujing", "password": "demo1234", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_deactivated_person_cannot_log_in(demo_app):
    with demo_app.app_context():
        get_person_by_uid("xujing").active = False
        db.session.commit()
    client = demo_app.test_client()
    assert login(client, "xujing").status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"})
    assert response.status_code == 401


def test_local_login_is_off_unless_configured(make_app):
    from tests.support.app import load_demo

    app = make_app(IA_LOCAL_LOGIN="off")
    load_demo(app)
    response = app.test_client().post("/api/v1/auth/token", json={"username": "xujing", "password": "demo1234"})
    assert response.status_code == 401


def test_token_me_and_person_with_leader_chain(demo_client):
    headers = api_token(demo_client, "xujing")
    me = demo_client.get("/api/v1/me", headers=headers).get_json()
    assert me["uid"] == "xujing" and me["agency"]["name"] == "区教育局" and me["department"]["name"] == "基础教育科"
    assert me["manager"] == "zhangwei" and me["delegations"] == []
    boss = demo_client.get("/api/v1/org/people/wangguodong", headers=headers).get_json()
    assert boss["is_cadre"] and boss["leader_chain"][0]["uid"] == "fanghuimin"
    assert any(r["kind"] == "principal_leader" for r in boss["roles"])
    agencies = demo_client.get("/api/v1/org/agencies", headers=headers).get_json()["items"]
    assert {a["name"] for a in agencies} >= {"区纪委", "区委组织部", "区教育局", "区领导"}


def test_expired_and_garbage_tokens(demo_app):
    client = demo_app.test_client()
    headers = api_token(client, "xujing")
    for bad in ({"Authorization": "Bearer nope"}, {"Authorization": "Bearer " + "x" * 500}, {}):
        response = client.get("/api/v1/me", headers=bad)
        assert response.status_code == 401 and response.get_json()["error"]["code"] in ("invalid_token", "unauthorized")
    from internal_affairs.auth.models import ApiToken
    from sqlalchemy import select

    with demo_app.app_context():
        token = db.session.execute(select(ApiToken)).scalars().one()
        token.expires_at -= timedelta(days=2)
        db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"[1,2]", "application/json", 400),
    (b"username=x", "application/x-www-form-urlencoded", 400),
    (b'{"username": 5, "password": []}', "application/json", 422),
    (b'{"username": "", "password": ""}', "application/json", 401),
    (('{"username": "%s", "password": "x"}' % ("a" * 10000)).encode(), "application/json", 401),
    (b'{"username": "*)(uid=*", "password": "x"}', "application/json", 401),
])
def test_token_bad_input(demo_client, body, content_type, status):
    response = demo_client.post("/api/v1/auth/token", data=body, content_type=content_type)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] and error["message"]


def test_unknown_person_is_404_json(demo_client):
    headers = api_token(demo_client, "xujing")
    for uid in ("nobody", "*", "x" * 300):
        response = demo_client.get(f"/api/v1/org/people/{uid}", headers=headers)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert demo_client.get("/api/v1/nowhere", headers=headers).status_code == 404


def test_session_api_writes_need_csrf(demo_client):
    login(demo_client, "linxiaoyan")
    response = demo_client.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "zhangwei"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf"
    token = csrf_token(demo_client, "/")
    response = demo_client.put("/api/v1/org/people/xujing/default-deputy", json={"deputy": "zhangwei"},
                               headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["default_deputy"]["uid"] == "zhangwei"


def test_default_deputy_rules(demo_client):
    hr = api_token(demo_client, "linxiaoyan")
    clerk = api_token(demo_client, "xujing")
    url = "/api/v1/org/people/xujing/default-deputy"
    assert demo_client.put("/api/v1/org/people/sunhao/default-deputy", json={"deputy": "zhangwei"},
                           headers=clerk).status_code == 403, "a clerk sets only their own deputy"
    assert demo_client.put(url, json={"deputy": "xujing"}, headers=hr).status_code == 422
    assert demo_client.put(url, json={"deputy": 7}, headers=hr).status_code == 422
    assert demo_client.put(url, json={"deputy": "ghost"}, headers=hr).status_code == 404
    foreign = demo_client.put("/api/v1/org/people/hanzhengqing/default-deputy", json={"deputy": "yanming"}, headers=hr)
    assert foreign.status_code == 403, "HR of one agency does not set deputies in another"
    ok = demo_client.put(url, json={"deputy": "zhangwei"}, headers=hr)
    assert ok.status_code == 200
    person = demo_client.get("/api/v1/org/people/xujing", headers=clerk).get_json()
    assert person["default_deputy"]["uid"] == "zhangwei"


def test_openapi_describes_every_api_route(app, client):
    import re

    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {re.sub(r"\{[^}]+\}", "{}", path): set(ops) for path, ops in spec["paths"].items()}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule[len("/api/v1"):])
        assert path in documented, f"{rule.rule} is not in openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in documented[path], f"{method} {rule.rule} is not in openapi.json"


def test_org_pages(demo_client):
    login(demo_client, "xujing")
    page = demo_client.get("/org/").get_data(as_text=True)
    assert "区教育局" in page
    page = demo_client.get("/org/people/wangguodong").get_data(as_text=True)
    assert "方慧敏" in page and "主要领导" in page
    assert demo_client.get("/org/people/ghost").status_code == 404
    assert demo_client.get("/org/sync").status_code == 403, "sync is for HR"


def test_one_agency_by_id(demo_client):
    headers = api_token(demo_client, "xujing")
    first = demo_client.get("/api/v1/org/agencies", headers=headers).get_json()["items"][0]
    one = demo_client.get(f"/api/v1/org/agencies/{first['id']}", headers=headers)
    assert one.status_code == 200 and one.get_json()["name"] == first["name"]
    assert demo_client.get("/api/v1/org/agencies/999999", headers=headers).status_code == 404
    assert demo_client.get(f"/api/v1/org/agencies/{first['id']}").status_code == 401


def test_hr_sets_a_default_deputy_on_the_person_page(demo_client):
    login(demo_client, "linxiaoyan")
    token = csrf_token(demo_client, "/org/people/xujing")
    response = demo_client.post("/org/people/xujing", data={"deputy-csrf_token": token, "deputy-deputy": "zhangwei"})
    assert response.status_code == 302
    assert "张伟" in demo_client.get("/org/people/xujing").get_data(as_text=True)
    unknown = demo_client.post("/org/people/xujing", data={"deputy-csrf_token": token, "deputy-deputy": "ghost"})
    assert unknown.status_code == 404
    self_deputy = demo_client.post("/org/people/xujing", data={"deputy-csrf_token": token, "deputy-deputy": "xujing"},
                                   follow_redirects=True)
    assert "不能是本人" in self_deputy.get_data(as_text=True)
