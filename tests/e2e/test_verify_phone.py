"""The verify page on a phone: an auditor uploads a sealed PDF and reads the report in plain
Chinese, then a file that is no PDF, without horizontal scrolling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.browser import log_in, no_horizontal_scroll
from tests.support.pdf import build_pdf
from tests.support.sealing import init_demo_seals

pytestmark = pytest.mark.e2e


def test_phone_verify_a_sealed_pdf_and_a_file_that_is_no_pdf(demo_app, live_server, phone, tmp_path):
    from internal_affairs.clock import utcnow
    from internal_affairs.extensions import db
    from internal_affairs.org.models import Person
    from internal_affairs.seals.actions import seal_pdf_for_agency

    init_demo_seals(demo_app)
    with demo_app.app_context():  # Playwright's loop runs in this thread: the service signs off it
        me = db.session.execute(select(Person).where(Person.uid == "xujing")).scalar_one()
        sealed = seal_pdf_for_agency(build_pdf(), agency_id=me.agency_id, purposes=["审批专用章", "公文用章"],
                                     trigger="e2e", object_type="document", object_id="E2E-1", acting_user=me,
                                     now=utcnow())
        db.session.commit()
    (tmp_path / "盖章文件.pdf").write_bytes(sealed.pdf)
    (tmp_path / "note.pdf").write_bytes(b"not a pdf at all")

    log_in(phone, live_server, "haowenbo")
    phone.goto(f"{live_server}/verify")
    phone.set_input_files("input[name=file]", str(tmp_path / "盖章文件.pdf"))
    phone.click("form.verify-form button[type=submit]")
    result = phone.locator("section.verify-result")
    assert result.get_attribute("data-valid") == "true"
    text = result.inner_text()
    assert "全部 2 枚印章有效" in text and "证书可信" in text and "认证签名" in text
    assert "审批专用章" in text and "公文用章" in text
    assert phone.locator(".signature.sig-ok").count() == 2
    assert no_horizontal_scroll(phone)
    phone.screenshot(path=str(tmp_path / "verify.png"), full_page=True)

    phone.set_input_files("input[name=file]", str(tmp_path / "note.pdf"))
    phone.click("form.verify-form button[type=submit]")
    assert "不是 PDF" in phone.inner_text("section.verify-error")
    assert no_horizontal_scroll(phone)
