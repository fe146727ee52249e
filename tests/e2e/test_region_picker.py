"""因私出国（境） on a phone: the destinations list is a searchable picker (type 日, pick 日本), and
without JavaScript the plain multi-select still does the job."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = pytest.mark.e2e

PDF = {"name": "行程.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%itinerary\n"}


@pytest.fixture
def catalog(catalog_app):
    return catalog_app


def _fill_the_rest(page) -> None:
    page.fill("#start_date", "2027-01-04")
    page.fill("#end_date", "2027-01-08")
    page.select_option("#purpose", "tourism")
    page.fill("#reason", "赴日本旅游")
    page.set_input_files("input[name=file_itinerary]", PDF)


def test_type_pick_and_submit_destinations_on_a_phone(catalog, live_server, phone, tmp_path):
    base = live_server
    log_in(phone, base, "lixiaohong")
    phone.goto(f"{base}/cases/new/overseas_travel")
    assert not phone.is_visible("select#destinations"), "the 249-line list box is replaced"
    search = phone.locator("#destinations-search")
    assert search.is_visible() and search.bounding_box()["height"] >= 44
    assert phone.locator("label[for=destinations-search]").count() == 1, "the label names the search box"

    search.tap()
    phone.keyboard.type("日")
    first = phone.locator(".picker-option").first
    assert first.inner_text().split() == ["日本", "JP"], "the name that starts with 日 comes first"
    assert first.bounding_box()["height"] >= 44
    phone.screenshot(path=str(tmp_path / "picker-results.png"))
    first.tap()
    assert phone.locator(".picker-chip").all_inner_texts() == ["日本\n×"]
    assert search.input_value() == ""

    search.tap()
    phone.keyboard.type("th")
    phone.locator(".picker-option", has_text="泰国").tap()
    assert [t.split("\n")[0] for t in phone.locator(".picker-chip").all_inner_texts()] == ["日本", "泰国"]
    phone.keyboard.type("jp")
    assert "没有匹配的国家或地区" in phone.inner_text(".picker-results"), "a picked destination is not offered again"
    phone.locator(".picker-chip", has_text="泰国").locator(".picker-remove").tap()
    assert [t.split("\n")[0] for t in phone.locator(".picker-chip").all_inner_texts()] == ["日本"]
    assert phone.eval_on_selector("select#destinations", "s => [...s.selectedOptions].map(o => o.value)") == ["JP"]
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "picker-chosen.png"), full_page=True)

    _fill_the_rest(phone)
    phone.tap("button[value=submit]")
    phone.wait_for_url(f"{base}/cases/*")
    assert "申请已提交" in phone.inner_text(".flash")
    assert phone.inner_text("[data-field=destinations]") == "日本"
    assert no_horizontal_scroll(phone)


def test_without_javascript_the_multi_select_is_the_field(catalog, live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        base = live_server
        log_in(page, base, "lixiaohong")
        page.goto(f"{base}/cases/new/overseas_travel")
        assert page.is_visible("select#destinations") and not page.locator(".picker").count()
        assert page.is_visible(".picker-nojs")
        page.select_option("#destinations", ["JP", "TH"])
        _fill_the_rest(page)
        page.click("button[value=submit]")
        page.wait_for_url(f"{base}/cases/*")
        assert page.inner_text("[data-field=destinations]") == "日本、泰国"
    finally:
        context.close()
