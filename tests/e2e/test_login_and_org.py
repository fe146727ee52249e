"""Log in and look at the org chart in a real browser, on a phone and on a PC."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = pytest.mark.e2e


def test_phone_login_and_leader_chain(live_server, phone, tmp_path):
    phone.goto(f"{live_server}/login")
    phone.fill("#username", "xujing")
    phone.fill("#password", "wrong")
    phone.click("button[type=submit]")
    assert "用户名或密码错误" in phone.inner_text(".flash")
    log_in(phone, live_server, "xujing")
    chain = phone.inner_text("ol.chain")
    assert chain.index("张伟") < chain.index("李晓红") < chain.index("王国栋")
    assert no_horizontal_scroll(phone)
    box = phone.locator("header .nav a").first.bounding_box()
    assert box["height"] >= 24
    phone.click("text=组织架构")
    phone.click("text=区教育局")
    assert "徐静" in phone.inner_text("table.list")
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone.png"), full_page=True)


def test_desktop_hr_sees_sync_page_and_person(live_server, desktop):
    log_in(desktop, live_server, "linxiaoyan")
    desktop.click("text=目录同步")
    assert "最近的同步记录" in desktop.inner_text("main")
    assert "ldif:district.ldif" in desktop.inner_text("table.list")
    desktop.goto(f"{live_server}/org/people/wangguodong")
    assert "方慧敏" in desktop.inner_text("ol.chain")
