"""Delegation in a real browser on a phone (Chromium, 390×844): the leader delegates on the
delegation page, the delegate finds the task marked 代 张伟 in the inbox, approves it, and the
timeline says 杨帆（代张伟）."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.cases import LEAVE, submit

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog(catalog_app):
    return catalog_app


def test_the_delegate_approves_on_a_phone_and_the_timeline_says_for_whom(catalog, live_server, browser, phone,
                                                                         tmp_path):
    base = live_server
    case = submit(catalog.test_client(), "xujing", "leave", LEAVE)

    log_in(phone, base, "zhangwei")
    phone.goto(f"{base}/delegations")
    assert no_horizontal_scroll(phone)
    now = datetime.now()
    phone.fill("input[name=delegate]", "yangfan")
    phone.fill("input[name=starts_at]", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    phone.fill("input[name=ends_at]", (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    phone.fill("input[name=reason]", "外出开会")
    submit_button = phone.locator("#delegate-form button[type=submit]")
    assert submit_button.bounding_box()["height"] >= 44
    submit_button.tap()
    phone.wait_for_url(f"{base}/delegations")
    assert "已设置代理" in phone.inner_text(".flash")
    assert "杨帆" in phone.inner_text("#given") and "生效中" in phone.inner_text("#given")
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone-delegations.png"), full_page=True)

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    delegate = context.new_page()
    try:
        log_in(delegate, base, "yangfan")
        assert delegate.inner_text("[data-nav=todo] .todo-count") == "1"
        delegate.tap("[data-nav=todo]")
        delegate.wait_for_url(f"{base}/inbox")
        item = delegate.locator(".item-link").first
        assert "代 张伟" in item.inner_text() and case["number"] in item.inner_text()
        assert no_horizontal_scroll(delegate)
        item.tap()
        delegate.wait_for_url(f"{base}/cases/{case['id']}")
        approve = delegate.locator(".decide button[value=approve]")
        assert approve.is_visible() and approve.bounding_box()["height"] >= 44
        delegate.tap(".decide textarea")
        delegate.keyboard.type("同意（代签）")
        delegate.tap(".decide button[value=approve]")
        delegate.wait_for_url(f"{base}/cases/{case['id']}")
        assert "已同意" in delegate.inner_text(".flash")
        timeline = delegate.inner_text(".timeline")
        assert "杨帆（代张伟）" in timeline and "同意（代签）" in timeline
        assert no_horizontal_scroll(delegate)
        delegate.screenshot(path=str(tmp_path / "phone-delegate-approved.png"), full_page=True)
    finally:
        context.close()

    phone.goto(f"{base}/people/zhangwei/calendar")
    assert no_horizontal_scroll(phone)
    assert "由 杨帆 代为处理" in phone.inner_text("#month-delegations")
