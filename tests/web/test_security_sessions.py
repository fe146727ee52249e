"""Sessions and tokens end when they should, against the live app: logout, deactivation by sync and
"log out everywhere" end sessions server-side; tokens are revocable; an Authorization header alone
authenticates; the CSRF token and the session key are new after each login; cookies and proxies
follow the configuration. Every refused request writes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from internal_affairs.audit.models import AuditEvent
from internal_affairs.auth.models import ApiToken, LoginSession
from internal_affairs.cases.models import Case
from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.org.actions import do_sync
from tests.support.app import BASE_DN, DEMO_LDIF, api_token, csrf_token, load_demo, login
from tests.support.ldif_edit import Directory

COOKIE = "session"


def _cookie(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def _counts(app) -> dict[str, int]:
    """Rows of the tables a refused request must not touch (revocations are counted too)."""
    with app.app_context():
        return {
            "audit": db.session.scalar(select(func.count()).select_from(AuditEvent)),
            "sessions": db.session.scalar(select(func.count()).select_from(LoginSession)),
            "sessions_revoked": db.session.scalar(select(func.count()).where(LoginSession.revoked_at.is_not(None))),
            "tokens": db.session.scalar(select(func.count()).select_from(ApiToken)),
            "tokens_revoked": db.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None))),
            "cases": db.session.scalar(select(func.count()).select_from(Case)),
        }


def _logged_in(app, uid: str):
    client = app.test_client()
    assert login(client, uid).status_code == 302
    return client


def test_logout_ends_the_session_on_the_server(demo_app):
    client = _logged_in(demo_app, "xujing")
    before_logout = _cookie(client)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    with demo_app.app_context():
        row = db.session.execute(select(LoginSession)).scalar_one()
        assert row.revoked_at is not None and row.revoked_reason == "logout"
    client.set_cookie(COOKIE, before_logout)  # the cookie an attacker kept from before the logout
    assert client.get("/inbox").status_code == 302
    assert "/login" in client.get("/inbox").headers["Location"]
    assert client.get("/api/v1/me").status_code == 401


def test_the_session_cookie_carries_a_key_not_the_person_id(demo_app):
    client = _logged_in(demo_app, "xujing")
    with demo_app.app_context():
        session_row = db.session.execute(select(LoginSession)).scalar_one()
        assert session_row.person.uid == "xujing" and session_row.user_agent
    forged = demo_app.test_client()
    with forged.session_transaction() as sess:  # signed with the real key: only the row can open it
        sess["_user_id"] = str(session_row.person_id)
    assert forged.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").get_json()["uid"] == "xujing"


def test_deactivation_by_sync_ends_sessions_and_tokens(demo_app, tmp_path):
    client = _logged_in(demo_app, "xujing")
    headers = api_token(client, "xujing")
    cookie = _cookie(client)
    directory = Directory.load(DEMO_LDIF)
    record = directory.remove("xujing")
    with demo_app.app_context():
        run = do_sync(acting_user=None, config=demo_app.config, now=utcnow(),
                      source=directory.write(tmp_path / "gone.ldif"), base_dn=BASE_DN)
        assert run.counts["person.deactivate"] == 1
        reasons = db.session.scalars(select(LoginSession.revoked_reason)).all()
        assert reasons == ["deactivated"]
        assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    assert client.get("/api/v1/me").status_code == 401
    assert demo_app.test_client().get("/api/v1/me", headers=headers).status_code == 401

    directory.add(record)  # back in the directory: active again, but the old credentials stay dead
    with demo_app.app_context():
        do_sync(acting_user=None, config=demo_app.config, now=utcnow(),
                source=directory.write(tmp_path / "back.ldif"), base_dn=BASE_DN)
    client.set_cookie(COOKIE, cookie)
    assert client.get("/api/v1/me").status_code == 401
    assert demo_app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert _logged_in(demo_app, "xujing").get("/api/v1/me").status_code == 200


def test_administrator_logs_a_person_out_everywhere_from_the_person_page(demo_app):
    victim_pc, victim_phone = _logged_in(demo_app, "xujing"), _logged_in(demo_app, "xujing")
    headers = api_token(victim_pc, "xujing")
    admin = _logged_in(demo_app, "shenliheng")
    page = admin.get("/org/people/xujing").get_data(as_text=True)
    assert "在所有设备上退出" in page
    response = admin.post("/org/people/xujing/logout-everywhere", data={"csrf_token": csrf_token(admin, "/")})
    assert response.status_code == 302
    assert "已结束 徐静 的全部登录：2 个会话，1 个令牌。" in admin.get(response.headers["Location"]).get_data(as_text=True)
    for client in (victim_pc, victim_phone):
        assert client.get("/api/v1/me").status_code == 401
    assert demo_app.test_client().get("/api/v1/me", headers=headers).status_code == 401
    assert admin.get("/api/v1/me").status_code == 200, "the administrator's own session lives on"
    with demo_app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.sessions.revoked_all")).scalar_one()
        assert event.actor_label == "shenliheng" and event.object_id == "xujing"
        assert event.data == {"sessions": 2, "tokens": 1}


def test_log_out_everywhere_through_the_api_and_who_may(demo_app):
    victim = _logged_in(demo_app, "xujing")
    colleague = api_token(demo_app.test_client(), "zhangwei")
    before = _counts(demo_app)
    refused = demo_app.test_client().post("/api/v1/org/people/xujing/logout-everywhere", headers=colleague)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert _counts(demo_app) == before, "a refused request writes nothing"
    assert "在所有设备上退出" not in _logged_in(demo_app, "zhangwei").get("/org/people/xujing").get_data(as_text=True)
    missing = demo_app.test_client().post("/api/v1/org/people/nobody/logout-everywhere",
                                          headers=api_token(demo_app.test_client(), "shenliheng"))
    assert missing.status_code == 404

    admin = api_token(demo_app.test_client(), "shenliheng")
    response = demo_app.test_client().post("/api/v1/org/people/xujing/logout-everywhere", headers=admin)
    assert response.status_code == 200
    assert response.get_json() == {"uid": "xujing", "sessions_revoked": 1, "tokens_revoked": 0}
    assert victim.get("/api/v1/me").status_code == 401

    me = _logged_in(demo_app, "zhangwei")  # everyone may end their own logins
    response = me.post("/org/people/zhangwei/logout-everywhere", data={"csrf_token": csrf_token(me, "/")})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert me.get("/api/v1/me").status_code == 401
    assert demo_app.test_client().get("/api/v1/me", headers=colleague).status_code == 401


def test_delete_token_revokes_the_token_presented(demo_app):
    client = demo_app.test_client()
    headers, other = api_token(client, "xujing"), api_token(client, "xujing")
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 200, "only the token presented"
    before = _counts(demo_app)
    again = client.delete("/api/v1/auth/token", headers=headers)
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "invalid_token"
    assert client.delete("/api/v1/auth/token").status_code == 401
    assert _counts(demo_app) == before


def test_own_page_lists_tokens_without_the_token_and_revokes_them(demo_app):
    client = _logged_in(demo_app, "xujing")
    token = api_token(demo_app.test_client(), "xujing")["Authorization"][7:]
    page = client.get("/org/people/xujing").get_data(as_text=True)
    assert "API 令牌" in page and token not in page
    token_id = int(re.search(r'data-token="(\d+)"', page).group(1))
    assert "API 令牌" not in _logged_in(demo_app, "zhangwei").get("/org/people/xujing").get_data(as_text=True)
    listed = demo_app.test_client().get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {token}"})
    assert [t["id"] for t in listed.get_json()["items"]] == [token_id] and "token" not in listed.get_json()["items"][0]

    stranger = _logged_in(demo_app, "zhangwei")
    before = _counts(demo_app)
    response = stranger.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(stranger, "/")})
    assert response.status_code == 404
    assert demo_app.test_client().delete(f"/api/v1/auth/tokens/{token_id}",
                                         headers=api_token(demo_app.test_client(), "zhangwei")).status_code == 404
    assert _counts(demo_app)["tokens_revoked"] == before["tokens_revoked"]

    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert "令牌已吊销" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert demo_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert 'data-token="' not in client.get("/org/people/xujing").get_data(as_text=True)


@pytest.mark.parametrize("header", ["Bearer garbage", "Bearer ", "Basic eHVqaW5nOmRlbW8xMjM0", "garbage"])
def test_an_authorization_header_alone_authenticates(demo_app, header):
    client = _logged_in(demo_app, "xujing")
    token = csrf_token(client, "/")
    before = _counts(demo_app)
    bad = {"Authorization": header}
    for path in ("/api/v1/me", "/inbox", "/", "/org/people/xujing"):
        assert client.get(path, headers=bad).status_code == 401, path
    response = client.post("/api/v1/cases", headers=bad, json={"matter_type": "leave", "form": {}, "submit": False})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
    response = client.post("/logout", headers=bad, data={"csrf_token": token})
    assert response.status_code == 401
    assert _counts(demo_app) == before, "nothing written, the session not ended"
    assert client.get("/api/v1/me").status_code == 200


def test_a_valid_token_wins_over_the_session_cookie(demo_app):
    client = _logged_in(demo_app, "xujing")
    boss = api_token(demo_app.test_client(), "zhangwei")
    assert client.get("/api/v1/me", headers=boss).get_json()["uid"] == "zhangwei"


def test_login_starts_a_new_session_with_a_new_csrf_token(demo_app):
    client = demo_app.test_client()
    before_login = csrf_token(client)
    cookie_before = _cookie(client)
    assert login(client, "xujing").status_code == 302
    after_login = csrf_token(client, "/")
    assert after_login != before_login
    assert _cookie(client) != cookie_before
    response = client.post("/logout", data={"csrf_token": before_login})
    assert response.status_code == 400, "the token from before the login is dead"
    assert client.get("/api/v1/me").status_code == 200

    first_key = _cookie(client)
    assert login(client, "zhangwei").status_code == 302
    assert _cookie(client) != first_key
    assert client.get("/api/v1/me").get_json()["uid"] == "zhangwei"
    with demo_app.app_context():
        rows = db.session.execute(select(LoginSession).order_by(LoginSession.id)).scalars().all()
        assert [(r.person.uid, r.revoked_reason) for r in rows] == [("xujing", "replaced"), ("zhangwei", None)]


def test_language_survives_login(demo_app):
    client = demo_app.test_client()
    client.get("/lang/en")
    login(client, "xujing")
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_secure_cookies_follow_the_setting(make_app):
    for setting, secure in (({}, False), ({"IA_SECURE_COOKIES": "on"}, True)):
        app = make_app(**setting)  # the tests run with local passwords: the demo default is off
        load_demo(app)
        client = app.test_client()
        response = client.get("/login")
        set_cookie = response.headers["Set-Cookie"]
        assert ("; Secure" in set_cookie) is secure
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie


def test_forwarded_headers_are_trusted_only_with_proxy_fix(make_app):
    forwarded = {"X-Forwarded-For": "10.9.8.7", "X-Forwarded-Proto": "https"}
    for setting, address in (({}, "127.0.0.1"), ({"IA_PROXY_FIX": "1"}, "10.9.8.7")):
        app = make_app(**setting)
        load_demo(app)
        client = app.test_client()
        token = csrf_token(client)
        response = client.post("/login", headers=forwarded | {"Referer": "https://localhost/login"},
                               data={"username": "xujing", "password": "demo1234", "csrf_token": token})
        assert response.status_code == 302
        with app.app_context():
            assert db.session.scalar(select(LoginSession.address)) == address
        if setting:  # behind the proxy the request is https: Flask-WTF then demands a same-origin Referer
            response = client.post("/login", headers=forwarded, data={"username": "xujing", "password": "demo1234",
                                                                      "csrf_token": csrf_token(client)})
            assert response.status_code == 400


def test_an_idle_session_ends_and_use_keeps_it_alive(demo_app):
    from datetime import timedelta

    from internal_affairs.auth.actions import SESSION_TOUCH, do_start_session, get_session_person
    from internal_affairs.org.queries import get_person_by_uid

    idle = timedelta(hours=demo_app.config["SESSION_IDLE_HOURS"])
    t0 = utcnow()
    with demo_app.app_context():
        key = do_start_session(get_person_by_uid("xujing"), user_agent="test", address="10.0.0.1", now=t0)
        seen = lambda: db.session.scalar(select(LoginSession.last_seen_at))  # noqa: E731
        assert get_session_person(key, now=t0 + SESSION_TOUCH / 2, idle=idle).uid == "xujing"
        assert seen() == t0, "a request within the touch interval writes nothing"
        later = t0 + idle - timedelta(minutes=1)
        assert get_session_person(key, now=later, idle=idle).uid == "xujing"
        assert seen() == later
        assert get_session_person(key, now=later + idle - timedelta(seconds=1), idle=idle) is not None
        assert get_session_person(key, now=later + 2 * idle, idle=idle) is None
        assert get_session_person("not-a-key", now=t0, idle=idle) is None
