"""One error hierarchy for every rule the services protect, mapped once to JSON and pages."""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

__all__ = [
    "DomainError",
    "ValidationError",
    "InvalidTextError",
    "NotFound",
    "PermissionDenied",
    "AuthenticationFailed",
    "Conflict",
    "StaleStateError",
    "register_error_handlers",
]


class DomainError(Exception):
    """A rule was broken. ``code`` is stable for API clients; ``message`` is for people."""

    code = "domain_error"
    http_status = 400
    default_message = lazy_gettext("请求无法处理。")
    retry_after: int | None = None
    """Seconds after which trying again may succeed (sent as ``Retry-After``)."""

    def __init__(self, message: Any = None, *, code: str | None = None,
                 fields: dict[str, str] | None = None, details: dict[str, Any] | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        self.details = details or {}
        super().__init__(str(self.message))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {k: str(v) for k, v in self.fields.items()}
        if self.details:
            body["details"] = self.details
        return {"error": body}

    def page_message(self) -> str:
        """One line for a page's flash: the field messages joined, or the message."""
        return "；".join(str(v) for v in self.fields.values()) or str(self.message)


class ValidationError(DomainError):
    code = "invalid"
    http_status = 422
    default_message = lazy_gettext("提交的内容有误，请检查后重试。")


class InvalidTextError(ValidationError):
    """Submitted text that is not valid Unicode text (a lone surrogate, NUL): refused before
    anything reads it, whatever the endpoint (see :mod:`internal_affairs.inputs`)."""

    code = "invalid_text"
    default_message = lazy_gettext("提交的内容含有无效字符，请删除后重试。")


class BadRequest(DomainError):
    code = "bad_request"
    http_status = 400
    default_message = lazy_gettext("请求格式不正确。")


class NotFound(DomainError):
    code = "not_found"
    http_status = 404
    default_message = lazy_gettext("找不到该对象，或您无权查看。")


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403
    default_message = lazy_gettext("您没有执行此操作的权限。")


class AuthenticationFailed(DomainError):
    code = "unauthorized"
    http_status = 401
    default_message = lazy_gettext("用户名或密码错误。")


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
    default_message = lazy_gettext("操作与当前状态冲突，请刷新后重试。")


class StaleStateError(Conflict):
    """What the action was based on changed meanwhile (another person acted first)."""

    code = "stale_decision"
    default_message = lazy_gettext("该事项已被处理，请刷新查看最新状态。")


class ServiceUnavailable(DomainError):
    code = "unavailable"
    http_status = 503
    default_message = lazy_gettext("外部服务暂不可用，请稍后重试。")


def _wants_json() -> bool:
    return request.path.startswith("/api/")


_HTTP_MESSAGES = {
    400: lazy_gettext("请求格式不正确。"),
    401: lazy_gettext("请先登录。"),
    403: lazy_gettext("您没有执行此操作的权限。"),
    404: lazy_gettext("找不到该页面或对象。"),
    405: lazy_gettext("不支持该请求方法。"),
    413: lazy_gettext("上传的内容过大。"),
    415: lazy_gettext("不支持的内容类型。"),
    429: lazy_gettext("操作过于频繁，请稍后再试。"),
}


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and CSRF failures to the JSON shape or an HTML page."""

    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
        if _wants_json():
            return jsonify(error.to_json()), error.http_status, headers
        if (error.http_status in (404, 403, 401, 429) or error.http_status >= 500
                or isinstance(error, InvalidTextError)):
            return render_template("error.html", status=error.http_status,
                                   message=str(error.message)), error.http_status, headers
        flash(error.page_message(), "error")  # the fields' reasons, not only "提交的内容有误"
        return redirect(request.referrer or request.path, code=303)

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        message = _("页面已过期或请求来源无效，请刷新后重试。")
        if _wants_json():
            return jsonify({"error": {"code": "csrf", "message": message}}), 400
        return render_template("error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        status = error.code or 500
        message = str(_HTTP_MESSAGES.get(status, error.description or ""))
        if _wants_json():
            code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
                    429: "rate_limited"}.get(status, "http_error")
            return jsonify({"error": {"code": code, "message": message}}), status
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        from .extensions import db
        from .sqlite import DatabaseBusy, is_busy_error, write_intent

        if is_busy_error(error):
            db.session.rollback()
            with write_intent(False):  # the page may read (WAL readers never wait), never write
                return handle_domain_error(DatabaseBusy())
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        _discard_pending_writes(app)
        message = _("系统内部错误，已记录，请稍后重试。")
        if _wants_json():
            return jsonify({"error": {"code": "internal", "message": message}}), 500
        return render_template("error.html", status=500, message=message), 500


def _discard_pending_writes(app: Flask) -> None:
    """Roll back whatever the failed request wrote and did not commit, before the error page (or
    any later hook) touches the session: a 500 never leaves a write behind, and the page is not
    read inside a transaction the database has already aborted."""
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection itself may be gone; the answer is still a 500
        app.logger.exception("rollback after an unhandled error failed")
