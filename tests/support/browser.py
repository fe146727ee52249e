"""Steps the browser tests share."""

from __future__ import annotations


def log_in(page, base: str, uid: str, password: str = "demo1234") -> None:
    """Log in through the login form and wait for the home page."""
    page.goto(f"{base}/login")
    page.fill("#username", uid)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def no_horizontal_scroll(page) -> bool:
    """The page fits the viewport's width (nothing to scroll sideways on a phone)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
