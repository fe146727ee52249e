"""The pages work in Chromium under the Content-Security-Policy: no violation is reported on the
login page, the inbox, a case page and the new-case pages, and the forms still submit."""

from __future__ import annotations

import pytest

from internal_affairs.http_security import CONTENT_SECURITY_POLICY
from tests.support.app import api_token
from tests.support.browser import log_in

pytestmark = pytest.mark.e2e

LEAVE = {"leave_type": "annual", "start_date": "2026-12-07", "end_date": "2026-12-07", "reason": "家中有事"}
WATCH = ("window.__csp = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


def _watch(page) -> list[str]:
    """Collect CSP violations: the console's reports and the page's own violation events."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.add_init_script(WATCH)
    return console


def _violations(page, console: list[str]) -> list[str]:
    return [m for m in console if "Content Security Policy" in m] + page.evaluate("window.__csp")


def test_pages_run_under_the_csp_without_violations(catalog_app, live_server, desktop):
    client = catalog_app.test_client()
    created = client.post("/api/v1/cases", json={"matter_type": "leave", "form": LEAVE, "submit": True},
                          headers=api_token(client, "xujing"))
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    console = _watch(desktop)

    response = desktop.goto(f"{live_server}/login")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert _violations(desktop, console) == []
    log_in(desktop, live_server, "xujing")
    for path in ("/", "/inbox", f"/cases/{case_id}", "/cases/mine", "/cases/new", "/cases/new/leave",
                 "/org/people/xujing"):
        response = desktop.goto(f"{live_server}{path}")
        assert response.status == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert desktop.evaluate("getComputedStyle(document.querySelector('header.topbar')).display") != "inline", \
            "the stylesheet is applied"
        assert _violations(desktop, console) == [], path
    desktop.goto(f"{live_server}/cases/new/leave")
    desktop.select_option("#leave_type", "annual")
    desktop.fill("#start_date", "2026-12-08")
    desktop.fill("#end_date", "2026-12-08")
    desktop.fill("#reason", "CSP 下提交")
    desktop.click("button[value=preview]")
    assert "张伟" in desktop.inner_text("#preview")
    assert _violations(desktop, console) == []

    desktop.click("header .who button")  # log out, then in as the approver: the inbox and the decision form
    desktop.wait_for_url(f"{live_server}/login**")
    log_in(desktop, live_server, "zhangwei")
    for path in ("/inbox", f"/cases/{case_id}"):
        assert desktop.goto(f"{live_server}{path}").status == 200
    assert desktop.locator(".decide button[value=approve]").is_visible()
    assert _violations(desktop, console) == []
