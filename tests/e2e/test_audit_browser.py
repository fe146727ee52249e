"""The auditor in a real browser (Chromium) on a phone (390×844) and a PC (1280×800): searches a
case's events, exports them as CSV (with the BOM WPS and Excel need), verifies the chain, and after
someone alters an event sees the first bad one shown and explained."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.support.audit import tampering
from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.cases import LEAVE, submit

pytestmark = pytest.mark.e2e

SIZES = {"phone": dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                       has_touch=True, locale="zh-CN"),
         "pc": dict(viewport={"width": 1280, "height": 800}, locale="zh-CN")}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_auditor_searches_exports_and_verifies(catalog_app, live_server, browser, size, tmp_path):
    base = live_server
    case = submit(catalog_app.test_client(), "xujing", "leave", LEAVE)
    context = browser.new_context(accept_downloads=True, **SIZES[size])
    page = context.new_page()
    try:
        log_in(page, base, "haowenbo")
        page.click("[data-nav=audit]")
        page.wait_for_url(f"{base}/audit")
        page.fill("input[name=case]", case["number"])
        page.click("#audit-filters button[type=submit]")
        page.wait_for_url(f"{base}/audit?**")
        results = page.inner_text("#results")
        assert "提交申请" in results and "创建申请" in results and "徐静" in results
        assert no_horizontal_scroll(page)
        assert page.locator("#export-csv").bounding_box()["height"] >= 44
        page.screenshot(path=str(tmp_path / f"{size}-audit-search.png"), full_page=True)

        with page.expect_download() as caught:
            page.click("#export-csv")
        saved = tmp_path / "export.csv"
        caught.value.save_as(saved)
        data = saved.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and "提交申请" in data.decode("utf-8-sig")
        assert "cases.case.submitted" in data.decode("utf-8-sig") and "序号" in data.decode("utf-8-sig")

        page.click("#verify-link")
        page.wait_for_url(f"{base}/audit/verify")
        assert page.get_attribute("#verify-result", "data-ok") == "true"
        assert "日志完整" in page.inner_text("#verify-result")
        assert no_horizontal_scroll(page)

        from internal_affairs.audit.models import AuditEvent
        from internal_affairs.extensions import db

        with catalog_app.app_context(), tampering(db.session):
            db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(object_id="伪造"))
        page.reload()
        assert page.get_attribute("#verify-result", "data-ok") == "false"
        assert page.inner_text("#first-bad") == "2"
        assert "第 2 条记录的哈希、链接或序号不符" in page.inner_text("#problems")
        assert "伪造" in page.inner_text("#first-bad-event")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(tmp_path / f"{size}-audit-verify.png"), full_page=True)
    finally:
        context.close()
