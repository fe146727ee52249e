"""The JSON API under ``/api/v1``: one blueprint assembled from each module's routes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import AuthenticationFailed, BadRequest
from ..extensions import csrf
from ..inputs import MAX_JSON_DEPTH, MAX_PAGE as MAX_PAGE_NUMBER, clean_json

__all__ = ["bp", "json_body", "require_user", "paging"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PAGE = 200


@bp.before_request
def _csrf_for_sessions() -> None:
    """Bearer-token clients need no CSRF token; browser sessions do on unsafe methods. A request
    with an ``Authorization`` header is authenticated by that header alone (a bad one was already
    answered 401, see ``auth.setup``), never by the session cookie a browser adds by itself."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if "Authorization" in request.headers:
        return
    if request.endpoint in ("api.issue_token", "api.revoke_presented_token"):
        return  # they act on the credentials sent with them, never on the session
    csrf.protect()


def json_body() -> dict[str, Any]:
    """The request's JSON object, every key and string checked by :func:`inputs.clean_json`.
    Raises :class:`BadRequest` (not JSON, malformed, nested too deep) and
    :class:`~internal_affairs.errors.InvalidTextError` (422, naming the field)."""
    if not request.is_json:
        raise BadRequest(_("请求体必须是 JSON（Content-Type: application/json）。"), code="not_json")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise BadRequest(_("JSON 嵌套层数过多（最多 %(n)s 层）。", n=MAX_JSON_DEPTH), code="too_deep") from None
    if data is None:
        raise BadRequest(_("JSON 格式不正确。"), code="malformed_json")
    if not isinstance(data, dict):
        raise BadRequest(_("请求体必须是 JSON 对象。"), code="not_an_object")
    return clean_json(data)


def require_user():
    """The authenticated person (session or bearer token). Raises :class:`AuthenticationFailed`."""
    if not current_user.is_authenticated:
        if g.get("auth_via_token"):
            raise AuthenticationFailed(_("令牌无效或已过期，请重新获取。"), code="invalid_token")
        raise AuthenticationFailed(_("请先登录或提供有效的令牌。"))
    return current_user._get_current_object()


def paging() -> tuple[int, int]:
    """``(limit, offset)`` from ``?page=&per_page=``. Raises :class:`BadRequest`."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 20))
    except ValueError:
        raise BadRequest(_("分页参数必须是整数。"), code="bad_paging") from None
    if not 1 <= page <= MAX_PAGE_NUMBER or not 1 <= per_page <= MAX_PAGE:
        raise BadRequest(_("分页参数超出范围。"), code="bad_paging")
    return per_page, (page - 1) * per_page


def _bool_field(data: dict[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        from ..errors import ValidationError

        raise ValidationError(_("%(name)s 必须是 true 或 false。", name=name), fields={name: _("必须是布尔值")})
    return value


from ..auth import api as _auth_api  # noqa: E402,F401
from ..org import api as _org_api  # noqa: E402,F401
from ..matters import api as _matters_api  # noqa: E402,F401
from ..cases import api as _cases_api  # noqa: E402,F401
from ..cases import api_attachments as _attachments_api  # noqa: E402,F401
from . import openapi as _openapi  # noqa: E402,F401
