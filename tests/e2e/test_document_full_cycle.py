"""An official document's whole cycle through the pages in Chromium, across two agencies: drafted
on the PC drafting page (1280×800) → 核稿 with a new version whose diff the reviewer sees on the
page → 会签 by two departments, both holding the task at once → 签发 on a phone (390×844) by the
leader's delegate (the delegation set up through the API) with a signature drawn with the pointer
→ numbered and sealed (number, sealed PDF and its SHA-256 on the drafter's page) → delivered
(the sender's delivery table) → registered on the recipient clerk's page → 批办 by the
recipient's leader → 承办 by two departments → 传阅 with read receipts on the page → archived and
found by its number in the archive search. The attached file travels to the recipient's page."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.cases import token
from tests.support.documents import (CZJ, DEPUTY, DRAFTER, JYJ, LEADER, RECIPIENT_CLERK, RECIPIENT_LEADER, REVIEWER,
                                     document)

pytestmark = pytest.mark.e2e

PC = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TITLE = "关于开展2026年度干部教育培训需求调研的通知"
BODY = "为做好培训计划，现将有关事项通知如下。\n一、调研对象\n（一）各单位在编干部\n1.报送时间\n请于12月20日前报送。"
ATTACHMENT = b"%PDF-1.4\n% training needs form\n%%EOF\n"


@pytest.fixture
def open_as(browser, live_server):
    """``open_as(uid, phone=False)``: a fresh browser context logged in as ``uid``."""
    contexts = []

    def open_as(uid: str, *, phone: bool = False):
        context = browser.new_context(locale="zh-CN", **(PHONE if phone else {"viewport": PC}))
        contexts.append(context)
        page = context.new_page()
        log_in(page, live_server, uid)
        return page

    yield open_as
    for context in contexts:
        context.close()


def _submit(page, selector: str, flash: str) -> None:
    """Press the button (a tap on a phone) and wait for the page it leads to, with its message."""
    phone = page.viewport_size["width"] < 500
    with page.expect_navigation():
        page.tap(selector) if phone else page.click(selector)
    assert flash in page.inner_text(".flash"), page.inner_text(".flash")


def _decide(page, base: str, doc_id: int, decision: str, comment: str | None = None) -> None:
    page.goto(f"{base}/documents/{doc_id}")
    if comment:
        page.fill("#doc-comment", comment)
    _submit(page, f"#document-decide button[value={decision}]", "已提交您的意见")


def test_the_full_cycle_through_the_pages(docs_app, live_server, open_as):
    base = live_server
    api = docs_app.test_client()

    # 拟稿 on a PC
    drafter = open_as(DRAFTER)
    drafter.goto(f"{base}/documents/new")
    drafter.fill("#draft-form input[name=title]", TITLE)
    drafter.select_option("#draft-form select[name=urgency]", "加急")
    drafter.select_option("#draft-form select[name=main_to]", [str(JYJ)])
    drafter.select_option("#draft-form select[name=cc_to]", [str(CZJ)])
    drafter.select_option("#draft-form select[name=countersign]", ["department:8", "department:10"])
    drafter.fill("#draft-form textarea[name=body]", BODY)
    _submit(drafter, "#draft-form button[name=submit][value='1']", "公文已提交核稿")
    doc_id = int(drafter.url.rstrip("/").rsplit("/", 1)[1])
    assert drafter.inner_text(".document-title") == TITLE
    assert [drafter.inner_text(".doc-h1"), drafter.inner_text(".doc-h2")] == ["一、调研对象", "（一）各单位在编干部"]
    # set-up through the API: the attachment the drafter attaches to the document's case
    case_id = document(api, DRAFTER, doc_id)["case"]["id"]
    assert api.post(f"/api/v1/cases/{case_id}/attachments", headers=token(api, DRAFTER), content_type="multipart/form-data",
                    data={"material": "attachment", "file": (io.BytesIO(ATTACHMENT), "培训需求表.pdf")}).status_code == 201

    # 核稿: the reviewer saves a new version and sees the difference on the page
    reviewer = open_as(REVIEWER)
    reviewer.goto(f"{base}/documents/{doc_id}")
    reviewer.click("#version-form >> xpath=ancestor::details/summary")
    reviewer.fill("#version-form textarea[name=body]", BODY.replace("12月20日", "12月25日"))
    reviewer.fill("#version-form input[name=note]", "改期")
    _submit(reviewer, "#version-form button[type=submit]", "已保存为新版本")
    with reviewer.expect_navigation():
        reviewer.click("#versions button[type=submit]")
    assert reviewer.inner_text("#diff .diff-delete").endswith("请于12月20日前报送。")
    assert reviewer.inner_text("#diff .diff-insert").endswith("请于12月25日前报送。")
    _decide(reviewer, base, doc_id, "approve", "核稿同意")

    # 会签: both departments hold the task at the same time; each decides on its own page
    countersigners = [open_as("duhaiyan"), open_as("chengli")]
    for page in countersigners:
        page.goto(f"{base}/documents/{doc_id}")
        assert page.locator("#document-decide button[value=approve]").count() == 1
    for page in countersigners:
        _submit(page, "#document-decide button[value=approve]", "已提交您的意见")
    drafter.goto(f"{base}/documents/{doc_id}")
    assert drafter.inner_text(".document-number") == "（签发后编号）"

    # 签发 on a phone by the leader's delegate, with a drawn signature
    now = datetime.now(timezone.utc)
    assert api.post("/api/v1/delegations", headers=token(api, LEADER), json={
        "delegate": DEPUTY, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(), "reason": "外出学习"}).status_code == 201
    deputy = open_as(DEPUTY, phone=True)
    deputy.goto(f"{base}/documents/{doc_id}")
    assert no_horizontal_scroll(deputy)
    canvas = deputy.locator(".signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    deputy.mouse.move(box["x"] + 20, box["y"] + 30)
    deputy.mouse.down()
    for i in range(1, 12):
        deputy.mouse.move(box["x"] + 20 + i * 25, box["y"] + 30 + (i % 3) * 20)
    deputy.mouse.up()
    deputy.fill("#doc-comment", "同意印发（代签）")
    _submit(deputy, "#document-decide button[value=approve]", "已提交您的意见")
    assert deputy.locator("#signatures img").count() == 1  # the drawn signature, kept with the decision

    # numbered and sealed, shown on the drafter's page, and delivered to both agencies
    drafter.goto(f"{base}/documents/{doc_id}")
    number = drafter.inner_text(".document-number")
    assert number.startswith("区委组织部发〔") and number.endswith("号")
    pdf = drafter.request.get(base + drafter.get_attribute("a[href$='/record.pdf']", "href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF-") and b"/ByteRange" in pdf.body()
    assert hashlib.sha256(pdf.body()).hexdigest()[:16] in drafter.inner_text(".document-head")
    assert drafter.locator("#deliveries tbody tr").count() == 2
    assert drafter.inner_text(f"#deliveries tr[data-agency='{JYJ}'] td:nth-child(3)") == "—"

    # 登记 and 拟办 at the recipient's clerk page
    clerk = open_as(RECIPIENT_CLERK)
    clerk.goto(f"{base}/documents?box=incoming")
    with clerk.expect_navigation():
        clerk.click(f"li.item:has-text('{TITLE}') a")
    incoming_id = int(clerk.url.rsplit("/", 1)[1])
    assert clerk.inner_text(".document-number") == number
    assert clerk.get_attribute("[data-verification]", "data-verification") == "valid"
    assert "电子印章验证：有效" in clerk.inner_text(".document-head")
    assert no_horizontal_scroll(clerk)
    sha = hashlib.sha256(ATTACHMENT).hexdigest()
    assert sha in clerk.inner_text("#document-attachments")
    got = clerk.request.get(base + clerk.get_attribute("#document-attachments a", "href"))
    assert got.ok and got.body() == ATTACHMENT
    clerk.fill("#register-form textarea[name=proposal]", "拟请人事科、基础教育科办理")
    clerk.select_option("#register-form select[name=handlers]", ["13", "14"])
    clerk.fill("#register-form input[name=readers]", "xujing，yangfan")
    _submit(clerk, "#register-form button[type=submit]", "来文已登记")
    drafter.goto(f"{base}/documents/{doc_id}")
    assert drafter.inner_text(f"#deliveries tr[data-agency='{JYJ}'] td:nth-child(3)").startswith("刘")

    # 批办 by the recipient's leader: other departments than proposed, and a deadline
    leader = open_as(RECIPIENT_LEADER)
    leader.goto(f"{base}/documents/{incoming_id}")
    leader.select_option("#document-decide select[name=handlers]", ["13", "15"])
    leader.fill("#document-decide input[name=deadline_days]", "3")
    leader.fill("#doc-comment", "请人事科牵头，计划财务科配合")
    _submit(leader, "#document-decide button[value=approve]", "已批办")

    # 承办 by the two departments the leader named, in parallel
    handlers = [open_as("huangzhiqiang"), open_as("mali")]
    for page in handlers:
        page.goto(f"{base}/documents/{incoming_id}")
        assert page.locator("#document-decide button[value=done]").count() == 1
    for page, comment in zip(handlers, ("已办理", "已配合")):
        page.fill("#doc-comment", comment)
        _submit(page, "#document-decide button[value=done]", "已提交您的意见")

    # 传阅 with read receipts
    _decide(open_as("xujing", phone=True), base, incoming_id, "read")
    clerk.goto(f"{base}/documents/{incoming_id}")
    assert "已阅" in clerk.inner_text("#circulation li[data-reader=xujing]")
    assert clerk.inner_text("#circulation li[data-reader=yangfan]").endswith("未阅")
    _decide(open_as("yangfan", phone=True), base, incoming_id, "read")

    # 办结 → 归档, found by its number in the archive search
    clerk.goto(f"{base}/documents/{incoming_id}")
    assert clerk.get_attribute(".document-head .tag", "data-status") == "archived"
    assert "已阅" in clerk.inner_text("#circulation li[data-reader=yangfan]")
    clerk.goto(f"{base}/documents?box=archive")
    clerk.fill("#document-search input[name=number]", number)
    with clerk.expect_navigation():
        clerk.press("#document-search input[name=number]", "Enter")
    assert [int(x) for x in clerk.eval_on_selector_all("li.item[data-document]", "els => els.map(e => e.dataset.document)")
            ] == [incoming_id]
    drafter.goto(f"{base}/documents/{doc_id}")
    assert drafter.inner_text(f"#deliveries tr[data-agency='{JYJ}'] td:nth-child(4)") != "—"
