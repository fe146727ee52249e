"""An official document signed off on a phone by the leader's delegate (Chromium, 390×844): the
delegate opens the case from the inbox, goes to the document, reads the body, draws a signature
with the pointer and approves; the document is numbered, sealed and delivered, the signature is
shown in the record, and the markup typed into the title and body never runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.cases import token
from tests.support.documents import DEPUTY, DRAFTER, LEADER, REVIEWER, case_of, create, decide_task, document

pytestmark = pytest.mark.e2e

HOSTILE_TITLE = '关于<img src=x onerror="window.__xss=1">的通知<script>window.__xss=2</script>'
HOSTILE_BODY = '一、<script>window.__xss=3</script>\n<svg onload="window.__xss=4">正文'


def test_a_delegate_signs_off_on_a_phone_with_a_drawn_signature(docs_app, live_server, phone, tmp_path):
    base = live_server
    api = docs_app.test_client()
    doc = create(api, title=HOSTILE_TITLE, body=HOSTILE_BODY, submit=True, cc_to=[], countersign=["department:8"])
    case = decide_task(api, REVIEWER, case_of(api, DRAFTER, doc))
    case = decide_task(api, "duhaiyan", case)
    now = datetime.now(timezone.utc)
    assert api.post("/api/v1/delegations", headers=token(api, LEADER), json={
        "delegate": DEPUTY, "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat()}).status_code == 201
    dialogs = []
    phone.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    log_in(phone, base, DEPUTY)
    phone.goto(f"{base}/cases/{case['id']}")
    phone.tap("[data-document-link]")
    phone.wait_for_url(f"{base}/documents/{doc['id']}")
    assert phone.inner_text(".document-title") == HOSTILE_TITLE
    assert "<script>window.__xss=3</script>" in phone.inner_text(".document-text")
    assert no_horizontal_scroll(phone)
    canvas = phone.locator(".signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["width"] <= 390
    points = [(box["x"] + 20 + i * 25, box["y"] + 30 + (i % 3) * 20) for i in range(12)]
    phone.mouse.move(*points[0])
    phone.mouse.down()
    for x, y in points[1:]:
        phone.mouse.move(x, y)
    phone.mouse.up()
    inked = phone.evaluate("""(() => { const c = document.querySelector('.signature-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })()""")
    assert inked > 100
    phone.fill("#doc-comment", "同意印发（代签）")
    approve = phone.locator("#document-decide button[value=approve]")
    assert approve.bounding_box()["height"] >= 44
    with phone.expect_navigation():
        approve.tap()
    assert "已提交您的意见" in phone.inner_text(".flash")
    assert phone.locator("#signatures img").count() == 1
    assert phone.evaluate("document.querySelector('#signatures img').naturalWidth") == 600
    assert phone.evaluate("window.__xss") is None and dialogs == []
    phone.screenshot(path=str(tmp_path / "phone-document-signed.png"), full_page=True)

    signed = document(api, DRAFTER, doc["id"])
    assert signed["status"] == "delivered" and signed["number"]
    signoff = next(s for s in case_of(api, DRAFTER, doc)["steps"] if s["name"] == "签发")["tasks"][0]
    assert signoff["acted_by"] == DEPUTY and signoff["on_behalf_of"] == LEADER
    assert signoff["comment"] == "同意印发（代签）"
    phone.goto(f"{base}/documents?box=outgoing")
    assert phone.evaluate("window.__xss") is None and dialogs == []
