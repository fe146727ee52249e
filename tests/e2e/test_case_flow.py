"""A one-day leave in a real browser: submitted on a PC, approved on a phone, registered by HR."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in, no_horizontal_scroll


pytestmark = pytest.mark.e2e


@pytest.fixture
def catalog(catalog_app):
    return catalog_app


def _log_out(page, base):
    page.click("header .who button")
    page.wait_for_url(f"{base}/login**")


def test_leave_submitted_on_pc_approved_on_phone(catalog, live_server, desktop, phone, tmp_path):
    base = live_server
    log_in(desktop, base, "xujing")
    desktop.click("header >> text=在线申请")
    desktop.click("a[data-matter=leave]")
    desktop.select_option("#leave_type", "annual")
    desktop.fill("#start_date", "2026-12-07")
    desktop.fill("#end_date", "2026-12-07")
    desktop.fill("#reason", "家中有事，需请假一天")
    desktop.click("button[value=preview]")
    assert "张伟" in desktop.inner_text("#preview")
    desktop.click("button[value=submit]")
    desktop.wait_for_url(f"{base}/cases/*")
    assert "申请已提交" in desktop.inner_text(".flash")
    assert desktop.inner_text(".case-head .badge") == "办理中"
    number = desktop.inner_text(".case-number")
    case_url = desktop.url

    log_in(phone, base, "zhangwei")
    assert phone.inner_text("[data-nav=todo] .todo-count") == "1"
    phone.tap("[data-nav=todo]")
    phone.wait_for_url(f"{base}/inbox")
    item = phone.locator(".item-link").first
    assert number in item.inner_text() and "徐静" in item.inner_text()
    assert item.bounding_box()["height"] >= 44
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone-inbox.png"), full_page=True)
    item.tap()
    phone.wait_for_url(case_url)
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone-case.png"))
    approve = phone.locator(".decide button[value=approve]")
    assert approve.is_visible() and approve.bounding_box()["height"] >= 44
    assert approve.bounding_box()["y"] + approve.bounding_box()["height"] <= 844, "同意 is reachable without scrolling"
    # two taps: the comment box (optional), then 同意
    phone.tap(".decide textarea")
    phone.keyboard.type("同意，注意工作交接")
    phone.tap(".decide button[value=approve]")
    phone.wait_for_url(case_url)
    assert "已同意" in phone.inner_text(".flash")
    assert not phone.locator(".decide").count()
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone-approved.png"), full_page=True)

    desktop.goto(case_url)
    timeline = desktop.inner_text(".timeline")
    assert "张伟" in timeline and "同意，注意工作交接" in timeline and "同意" in timeline
    _log_out(desktop, base)

    log_in(desktop, base, "linxiaoyan")
    desktop.click("[data-nav=todo]")
    desktop.click(f".item-link:has-text('{number}')")
    desktop.fill(".decide textarea", "已登记考勤")
    desktop.click(".decide button[value=done]")
    desktop.wait_for_url(case_url)
    assert desktop.inner_text(".case-head .badge") == "已通过"
    assert "已登记考勤" in desktop.inner_text(".timeline")
    desktop.screenshot(path=str(tmp_path / "desktop-approved.png"), full_page=True)

    phone.goto(case_url)
    assert phone.inner_text(".case-head .badge") == "已通过"
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "phone-final.png"), full_page=True)


def test_draft_saved_on_pc_finished_and_submitted_on_a_phone(catalog, live_server, desktop, phone):
    base = live_server
    log_in(desktop, base, "xujing")
    desktop.goto(f"{base}/cases/new/leave")
    desktop.select_option("#leave_type", "annual")
    desktop.fill("#start_date", "2026-12-07")
    desktop.fill("#end_date", "2026-12-07")
    desktop.fill("#reason", "先存草稿")
    desktop.click("button[value=draft]")
    desktop.wait_for_url(f"{base}/cases/*")
    assert "已保存为草稿" in desktop.inner_text(".flash")
    assert desktop.inner_text(".case-head .badge") == "草稿"
    case_url = desktop.url

    log_in(phone, base, "xujing")
    phone.goto(case_url)
    phone.tap(".draft-submit a")
    phone.wait_for_url(f"{case_url}/edit")
    assert phone.input_value("#reason") == "先存草稿"
    assert no_horizontal_scroll(phone)
    phone.fill("#reason", "家中有事，需请假一天")
    phone.tap("button[value=submit]")
    phone.wait_for_url(case_url)
    assert "申请已提交" in phone.inner_text(".flash")
    assert phone.inner_text(".case-head .badge") == "办理中"
    assert "张伟" in phone.inner_text(".timeline")
