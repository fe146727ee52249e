"""The supervision dashboard on a phone and a PC, its print view, and a rating given on a phone."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.cases import LEAVE, decide, submit
from tests.support.stats import PERIOD, insert_dataset

pytestmark = pytest.mark.e2e


def test_a_district_leader_reads_the_dashboard_on_a_phone_and_a_pc(catalog_app, live_server, phone, desktop, tmp_path):
    insert_dataset(catalog_app)
    query = f"/stats?from={PERIOD[0]}&to={PERIOD[1]}"
    log_in(phone, live_server, "fanghuimin")
    phone.goto(live_server + query)
    assert phone.inner_text("[data-kpi=volume]") == "7" and phone.inner_text("[data-kpi=on_time]") == "60.0%"
    assert no_horizontal_scroll(phone), "wide tables scroll inside their card, not the page"
    chart = phone.locator("svg.chart").first
    assert chart.is_visible() and chart.bounding_box()["width"] <= 390
    phone.screenshot(path=str(tmp_path / "phone-stats.png"), full_page=True)
    phone.select_option("select[name=matter_type]", "leave")
    phone.tap(".filters button[type=submit]")
    phone.wait_for_url("**matter_type=leave**")
    assert phone.inner_text("[data-kpi=volume]") == "3"

    log_in(desktop, live_server, "wangguodong")
    desktop.goto(live_server + query)
    assert [o.strip() for o in desktop.locator("select[name=agency] option").all_inner_texts()][1:] == ["区教育局"]
    assert desktop.locator("tr[data-agency]").count() == 1
    desktop.screenshot(path=str(tmp_path / "pc-stats.png"), full_page=True)
    desktop.emulate_media(media="print")
    assert not desktop.locator(".filters").is_visible() and not desktop.locator("header.topbar").is_visible()
    assert desktop.locator("svg.chart").first.is_visible()


def test_the_applicant_rates_on_a_phone(catalog_app, live_server, phone, tmp_path):
    client = catalog_app.test_client()
    client.tokens = {}
    case = submit(client, "xujing", "leave", LEAVE)
    case = decide(client, "zhangwei", case)
    decide(client, "linxiaoyan", case, decision="done", comment="已登记")
    log_in(phone, live_server, "xujing")
    phone.goto(f"{live_server}/cases/{case['id']}")
    phone.locator("#rating").scroll_into_view_if_needed()
    choice = phone.locator(".score-choice").nth(1)  # 4 分
    assert choice.bounding_box()["height"] >= 44
    choice.tap()
    phone.fill("#rating-comment", "手机上就办完了")
    phone.tap("#rating button[type=submit]")
    phone.wait_for_url(f"**/cases/{case['id']}**")
    assert "感谢您的评价" in phone.inner_text(".flash")
    assert "手机上就办完了" in phone.inner_text("#rating") and phone.locator("#rating form").count() == 0
    phone.locator("#rating").screenshot(path=str(tmp_path / "phone-rating.png"))
    assert no_horizontal_scroll(phone)
