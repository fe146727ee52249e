"""Security headers on pages, API answers and files; no inline script or style in the templates (the
Content-Security-Policy forbids them); the Server header of the production server names neither
Werkzeug nor Python."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from internal_affairs.http_security import CONTENT_SECURITY_POLICY
from tests.support.app import ROOT, api_token, login

COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def _assert_common(response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (response.request.path, name)


def test_pages_send_the_csp_and_are_not_stored(demo_app):
    client = demo_app.test_client()
    login_page = client.get("/login")
    _assert_common(login_page)
    assert login_page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    csp = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'self'" and csp["base-uri"] == "'none'" and csp["form-action"] == "'self'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    login(client, "xujing")
    for path in ("/", "/inbox", "/cases/mine", "/org/people/xujing", "/matters/", "/no-such-page"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        _assert_common(response)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_api_answers_are_not_stored_and_not_sniffed(demo_app):
    client = demo_app.test_client()
    headers = api_token(client, "xujing")
    for response in (client.get("/api/v1/me", headers=headers), client.get("/api/v1/me"),
                     client.get("/api/v1/openapi.json")):
        _assert_common(response)
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == "application/json"


def test_static_files_may_be_cached(demo_app):
    response = demo_app.test_client().get("/static/app.css")
    assert response.status_code == 200
    _assert_common(response)
    assert "no-store" not in (response.headers.get("Cache-Control") or "")


TEMPLATES = ROOT / "templates"
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script> (use a static .js file)"),
    (re.compile(r"<style\b", re.I), "<style> block (use static CSS)"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style= attribute (use a CSS class)"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "on*= event handler attribute (bind it in a static .js file)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_hold_no_inline_script_or_style(path: Path):
    text = path.read_text(encoding="utf-8")
    problems = [f"{path.relative_to(ROOT)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert not problems


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_names_no_werkzeug_or_python(demo_app, tmp_path):
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "IA_DATABASE_URL": demo_app.config["SQLALCHEMY_DATABASE_URI"],
           "IA_SECRET_KEY": "test-secret", "IA_LOCAL_LOGIN": "on", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
                    servers = response.headers.get_all("Server")
                    csp = response.headers["Content-Security-Policy"]
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(server.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer")
    finally:
        server.terminate()
        server.wait(10)
    assert servers == ["gunicorn"], "one Server header, without a version, Werkzeug or Python"
    assert csp == CONTENT_SECURITY_POLICY
