"""HTTP hardening the whole application shares: secure cookies, the reverse proxy's forwarded
headers (only when configured), and the security headers of every response."""

from __future__ import annotations

from flask import Flask, Response, request

__all__ = ["setup_http_security", "CONTENT_SECURITY_POLICY"]

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
                           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
"""No inline script or style anywhere: templates load ``static/*.js`` and ``static/*.css`` only."""


def setup_http_security(app: Flask) -> None:
    """Secure session cookies when ``IA_SECURE_COOKIES`` is on; trust ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` from ``IA_PROXY_FIX`` proxies (none by default: a client could forge
    them); and send the security headers."""
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SECURE_COOKIES"))
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.endpoint != "static" and "no-store" not in (headers.get("Cache-Control") or ""):
            headers["Cache-Control"] = "no-store"  # pages and API answers carry case data
        return response
