"""In-app notifications through the pages and the API: the list, the unread badge in the nav,
marking read (one's own only), and the preferences page and API with bad input answered 4xx."""

from __future__ import annotations

from sqlalchemy import select

from internal_affairs.clock import utcnow
from internal_affairs.extensions import db
from internal_affairs.notify.actions import notify
from internal_affairs.org.models import Person
from tests.support.app import api_token, csrf_token, login


def _notify(app, uid: str, n: int) -> None:
    with app.app_context():
        person = db.session.execute(select(Person).where(Person.uid == uid)).scalar_one()
        for i in range(1, n + 1):
            notify([person], kind="cases.task.created", subject=f"待办事项{i}", body=f"正文{i}", link=f"/cases/{i}",
                   dedupe_key=f"k{i}", now=utcnow())
        db.session.commit()


def test_list_badge_and_mark_read_in_pages(demo_app):
    _notify(demo_app, "zhouqiming", 2)
    client = demo_app.test_client()
    login(client, "zhouqiming")
    html = client.get("/").get_data(as_text=True)
    assert 'data-nav="notifications"' in html and 'class="todo-count unread-count">2<' in html
    page = client.get("/notifications").get_data(as_text=True)
    assert "待办事项1" in page and "待办事项2" in page
    token = csrf_token(client, "/notifications")
    headers = api_token(client, "zhouqiming")
    first = client.get("/api/v1/notifications", headers=headers).get_json()["items"][-1]
    answer = client.post(f"/notifications/{first['id']}/read", data={"csrf_token": token, "follow": "1"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/cases/1")
    assert 'class="todo-count unread-count">1<' in client.get("/").get_data(as_text=True)
    client.post("/notifications/read", data={"csrf_token": token})
    assert "unread-count" not in client.get("/").get_data(as_text=True)


def test_api_lists_and_marks_only_ones_own(demo_app):
    _notify(demo_app, "zhouqiming", 3)
    client = demo_app.test_client()
    mine = api_token(client, "zhouqiming")
    other = api_token(client, "luwentao")
    listed = client.get("/api/v1/notifications?per_page=2", headers=mine).get_json()
    assert listed["total"] == 3 and listed["unread"] == 3 and [i["subject"] for i in listed["items"]] == ["待办事项3", "待办事项2"]
    target = listed["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{target}/read", headers=other).status_code == 404
    read = client.post(f"/api/v1/notifications/{target}/read", headers=mine)
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert client.get("/api/v1/notifications?unread=1", headers=mine).get_json()["total"] == 2
    assert client.post("/api/v1/notifications/99999999/read", headers=mine).status_code == 404
    assert client.get("/api/v1/notifications", headers=other).get_json()["total"] == 0
    assert client.get("/api/v1/notifications").status_code == 401


def test_preferences_api_and_page(demo_app):
    client = demo_app.test_client()
    headers = api_token(client, "zhouqiming")
    assert client.get("/api/v1/me/notification-preferences", headers=headers).get_json() == {
        "mail": True, "chat": True, "quiet_start": "22:00", "quiet_end": "07:00"}
    for bad in ({"mail": "yes"}, {"quiet_start": "25:00"}, {"quiet_start": None}, {"colour": "red"}, [1]):
        answer = client.put("/api/v1/me/notification-preferences", json=bad, headers=headers)
        assert answer.status_code in (400, 422), bad
        assert answer.get_json()["error"]["message"]
    ok = client.put("/api/v1/me/notification-preferences", json={"chat": False, "quiet_start": "21:30",
                                                                  "quiet_end": "06:45"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json() == {"mail": True, "chat": False, "quiet_start": "21:30",
                                                       "quiet_end": "06:45"}
    login(client, "zhouqiming")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="21:30"' in page
    token = csrf_token(client, "/notifications/settings")
    saved = client.post("/notifications/settings", data={"csrf_token": token, "mail": "1", "quiet_start": "",
                                                          "quiet_end": ""}, follow_redirects=True)
    assert "通知设置已保存" in saved.get_data(as_text=True)
    assert client.get("/api/v1/me/notification-preferences", headers=headers).get_json() == {
        "mail": True, "chat": False, "quiet_start": None, "quiet_end": None}


def test_web_workers_never_start_a_scheduler(demo_app):
    import threading

    client = demo_app.test_client()
    login(client, "zhouqiming")
    assert client.get("/notifications").status_code == 200
    assert not [t for t in threading.enumerate() if t.name == "APScheduler"]
    assert "scheduler" in {c.name for c in demo_app.cli.commands.values()}  # it runs only as its own command


def test_a_host_without_ia_scheduler_on_refuses_to_run_the_scheduler(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code != 0 and "IA_SCHEDULER" in result.output


def test_a_malformed_page_number_is_a_400_not_a_silent_first_page(demo_app):
    client = demo_app.test_client()
    login(client, "zhouqiming")
    assert client.get("/notifications?page=2").status_code == 200
    for bad in ("abc", "0", "-1", "1e3", "999999999"):
        assert client.get(f"/notifications?page={bad}").status_code == 400, bad


def test_the_settings_page_answers_bad_times_with_the_fields_message_and_saves_nothing(demo_app):
    client = demo_app.test_client()
    login(client, "zhouqiming")
    token = csrf_token(client, "/notifications/settings")
    for form, message in (({"quiet_start": "25:00", "quiet_end": "07:00"}, "时间格式为 HH:MM"),
                          ({"quiet_start": "21:00", "quiet_end": ""}, "须同时填写或同时留空")):
        answer = client.post("/notifications/settings", data={"csrf_token": token, "chat": "1"} | form)
        assert answer.status_code == 200 and message in answer.get_data(as_text=True), form
    headers = api_token(client, "zhouqiming")
    assert client.get("/api/v1/me/notification-preferences", headers=headers).get_json()["quiet_start"] == "22:00"
