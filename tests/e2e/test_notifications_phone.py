"""Notifications on a phone: the unread badge in the nav, the list, following one to its case,
and the settings page, without horizontal scrolling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = pytest.mark.e2e


def test_phone_badge_list_follow_and_settings(demo_app, live_server, phone, tmp_path):
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.notify.actions import notify
    from internal_affairs.org.models import Person

    with demo_app.app_context():
        me = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        notify([me], kind="cases.task.reminder", subject="即将到期：张伟的请假申请", body="请在今天 17:30 前审批。",
               link="/inbox", dedupe_key="e2e:1", now=utcnow())
        db.session.commit()
    log_in(phone, live_server, "xujing")
    assert phone.inner_text("header .nav .unread-count") == "1"
    phone.click("header .nav [data-nav=notifications]")
    item = phone.locator("li.notification.unread")
    assert "即将到期：张伟的请假申请" in item.inner_text()
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "notifications.png"), full_page=True)
    item.locator("button[name=follow]").click()
    phone.wait_for_url(f"{live_server}/inbox")
    assert phone.locator("header .nav .unread-count").count() == 0
    phone.goto(f"{live_server}/notifications/settings")
    phone.uncheck("input[name=chat]")
    phone.fill("input[name=quiet_start]", "21:00")
    phone.fill("input[name=quiet_end]", "07:30")
    phone.click("form.stack button[type=submit]")
    assert "通知设置已保存" in phone.inner_text("main")
    assert phone.input_value("input[name=quiet_start]") == "21:00"
    assert not phone.is_checked("input[name=chat]")
    assert no_horizontal_scroll(phone)
