"""Login guessing is throttled per account and per client address over a sliding window kept in
the database: 429 with Retry-After and a Chinese message on the login page and the token API,
every throttled attempt audited, nothing else written, a success clearing the account's count.
The window moves with the ``now`` the service is given."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from internal_affairs.audit.models import AuditEvent
from internal_affairs.auth.actions import authenticate
from internal_affairs.auth.models import LoginFailure, LoginSession
from internal_affairs.auth.throttle import LoginThrottled
from internal_affairs.clock import utcnow
from internal_affairs.errors import AuthenticationFailed
from internal_affairs.extensions import db
from tests.support.app import csrf_token, load_demo, login


def _token(client, uid: str, password: str, **headers):
    return client.post("/api/v1/auth/token", json={"username": uid, "password": password}, headers=headers)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            "failures": db.session.scalar(select(func.count()).select_from(LoginFailure)),
            "sessions": db.session.scalar(select(func.count()).select_from(LoginSession)),
            "throttled_events": db.session.scalar(
                select(func.count()).where(AuditEvent.action == "auth.login.throttled")),
            "events": db.session.scalar(select(func.count()).select_from(AuditEvent)),
        }


def test_five_wrong_passwords_throttle_the_account_on_the_page_and_the_api(demo_app):
    client = demo_app.test_client()
    for _ in range(5):
        assert login(client, "xujing", "wrong").status_code == 401
    before = _counts(demo_app)
    page = login(client, "xujing")  # the right password, too late
    assert page.status_code == 429
    assert 0 < int(page.headers["Retry-After"]) <= 15 * 60
    body = page.get_data(as_text=True)
    assert "登录失败次数过多，请 15 分钟后再试。" in body and 'id="username"' in body
    api = _token(client, "XuJing", "demo1234")  # the account is the same whatever the case
    assert api.status_code == 429 and int(api.headers["Retry-After"]) > 0
    assert api.get_json()["error"]["code"] == "rate_limited"
    assert "登录失败次数过多" in api.get_json()["error"]["message"]
    after = _counts(demo_app)
    assert after["throttled_events"] == before["throttled_events"] + 2, "every throttled attempt is audited"
    assert after["events"] == before["events"] + 2, "and nothing else is written"
    assert (after["failures"], after["sessions"]) == (before["failures"], before["sessions"])
    assert client.get("/api/v1/me").status_code == 401
    assert _token(client, "zhangwei", "demo1234").status_code == 200, "other accounts are not held up"
    with demo_app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login.throttled")
                                   .order_by(AuditEvent.seq)).scalars().first()
        assert event.data["scope"] == "account" and event.data["address"] == "127.0.0.1"


def test_the_window_slides_with_now(demo_app):
    t0 = utcnow()
    with demo_app.app_context():
        config = demo_app.config
        for minute in range(5):
            with pytest.raises(AuthenticationFailed):
                authenticate("xujing", "wrong", config=config, now=t0 + timedelta(minutes=minute), address="10.0.0.1")
        with pytest.raises(LoginThrottled) as refused:
            authenticate("xujing", "demo1234", config=config, now=t0 + timedelta(minutes=10), address="10.0.0.1")
        assert refused.value.retry_after == 5 * 60, "until the first failure leaves the 15-minute window"
        assert refused.value.http_status == 429
        later = t0 + timedelta(minutes=15, seconds=1)
        assert authenticate("xujing", "demo1234", config=config, now=later, address="10.0.0.1").uid == "xujing"


def test_a_success_resets_the_account_but_not_the_address(make_app):
    app = make_app(IA_LOGIN_THROTTLE_ADDRESS="8")
    load_demo(app)
    t0 = utcnow()
    with app.app_context():
        config = app.config
        for minute in range(4):
            with pytest.raises(AuthenticationFailed):
                authenticate("xujing", "wrong", config=config, now=t0 + timedelta(minutes=minute), address="10.0.0.1")
        authenticate("xujing", "demo1234", config=config, now=t0 + timedelta(minutes=4), address="10.0.0.1")
        for minute in range(5, 9):
            with pytest.raises(AuthenticationFailed):
                authenticate("xujing", "wrong", config=config, now=t0 + timedelta(minutes=minute), address="10.0.0.2")
        assert authenticate("xujing", "demo1234", config=config, now=t0 + timedelta(minutes=9),
                            address="10.0.0.2").uid == "xujing", "4 failures since the success: not yet throttled"
        for minute in range(10, 14):
            with pytest.raises(AuthenticationFailed):
                authenticate("zhangwei", "wrong", config=config, now=t0 + timedelta(minutes=minute), address="10.0.0.1")
        with pytest.raises(LoginThrottled):  # 10.0.0.1: 4 + 4 failures, the success did not clear them
            authenticate("lixiaohong", "demo1234", config=config, now=t0 + timedelta(minutes=14), address="10.0.0.1")


def test_twenty_failures_from_one_address_throttle_it_by_default(demo_app):
    assert demo_app.config["LOGIN_THROTTLE_ADDRESS"] == 20 and demo_app.config["LOGIN_THROTTLE_ACCOUNT"] == 5
    client = demo_app.test_client()
    uids = ["xujing", "zhangwei", "lixiaohong", "wangguodong", "linxiaoyan"]
    for i in range(20):
        assert _token(client, uids[i % 5], "wrong").status_code == 401
    before = _counts(demo_app)
    response = _token(client, "fanghuimin", "demo1234")  # an account with no failure of its own
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert login(client, "fanghuimin").status_code == 429
    after = _counts(demo_app)
    assert after["throttled_events"] == before["throttled_events"] + 2 and after["failures"] == before["failures"]
    with demo_app.app_context():
        scopes = db.session.scalars(select(AuditEvent.data).where(AuditEvent.action == "auth.login.throttled")).all()
        assert {s["scope"] for s in scopes} == {"address"}


def test_the_address_is_the_proxy_s_client_only_with_proxy_fix(make_app):
    app = make_app(IA_PROXY_FIX="1", IA_LOGIN_THROTTLE_ADDRESS="3")
    load_demo(app)
    client = app.test_client()
    for uid in ("xujing", "zhangwei", "lixiaohong"):
        assert _token(client, uid, "wrong", **{"X-Forwarded-For": "10.1.1.1"}).status_code == 401
    assert _token(client, "wangguodong", "demo1234", **{"X-Forwarded-For": "10.1.1.1"}).status_code == 429
    assert _token(client, "wangguodong", "demo1234", **{"X-Forwarded-For": "10.2.2.2"}).status_code == 200

    direct = make_app(IA_LOGIN_THROTTLE_ADDRESS="3")  # without the setting the header is the client's word
    load_demo(direct)
    client = direct.test_client()
    for uid, forged in (("xujing", "10.0.0.1"), ("zhangwei", "10.0.0.2"), ("lixiaohong", "10.0.0.3")):
        assert _token(client, uid, "wrong", **{"X-Forwarded-For": forged}).status_code == 401
    assert _token(client, "wangguodong", "demo1234", **{"X-Forwarded-For": "10.0.0.4"}).status_code == 429


def test_limits_are_configurable_and_zero_turns_a_limit_off(make_app):
    app = make_app(IA_LOGIN_THROTTLE_ACCOUNT="0", IA_LOGIN_THROTTLE_ADDRESS="0")
    load_demo(app)
    client = app.test_client()
    for _ in range(25):
        assert _token(client, "xujing", "wrong").status_code == 401
    assert _token(client, "xujing", "demo1234").status_code == 200


def test_malformed_attempts_are_not_counted(demo_app):
    client = demo_app.test_client()
    for _ in range(6):
        assert _token(client, "xujing", "").status_code == 401
        assert client.post("/api/v1/auth/token", json={"username": 1, "password": []}).status_code == 422
    assert _counts(demo_app)["failures"] == 0
    assert _token(client, "xujing", "demo1234").status_code == 200


def test_the_login_page_still_needs_its_csrf_token_when_throttled(demo_app):
    client = demo_app.test_client()
    for _ in range(5):
        login(client, "xujing", "wrong")
    before = _counts(demo_app)
    response = client.post("/login", data={"username": "xujing", "password": "demo1234"})
    assert response.status_code == 400
    assert _counts(demo_app) == before
    token = csrf_token(client)
    assert client.post("/login", data={"username": "xujing", "password": "x", "csrf_token": token}).status_code == 429
