"""The JSON API under ``/api/v1``: one blueprint assembled from each domain's routes.

Each domain's ``api.py`` records its routes and its OpenAPI fragment on an :class:`ApiRoutes`
(``routes = ApiRoutes("cases")``, ``@routes.post("/cases")``, ``routes.document(paths=…)``);
the app factory hands them to :func:`create_api_blueprint`, which adds every route to a fresh
blueprint and merges the fragments into the one ``/api/v1/openapi.json``. This package imports no
domain: the dependency runs from each domain to here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from ..errors import AuthenticationFailed, BadRequest, ValidationError
from ..extensions import csrf
from ..inputs import MAX_JSON_DEPTH, MAX_PAGE as MAX_PAGE_NUMBER, clean_json
from .openapi import base_spec, merge_fragment, op

__all__ = ["ApiRoutes", "create_api_blueprint", "json_body", "require_user", "paging", "bool_field", "only_fields"]

MAX_PAGE = 200


class ApiRoutes:
    """One domain's part of ``/api/v1``: its routes and its OpenAPI fragment (paths and schemas).

    The decorators (``route``, ``get``, ``post``, ``put``, ``patch``, ``delete``) take what
    :meth:`flask.Blueprint.route` takes and only record the view; :meth:`register` adds the
    recorded routes to an API blueprint, so importing a domain changes no shared object and every
    app gets its own blueprint. Endpoints are named after the view function, as on a blueprint
    (``api.create_case``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}
        self._rules: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Record ``rule`` (relative to ``/api/v1``) for the decorated view."""
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            self._rules.append((rule, view, options))
            return view
        return decorator

    def get(self, rule: str, **options: Any):
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any):
        return self.route(rule, methods=["POST"], **options)

    def put(self, rule: str, **options: Any):
        return self.route(rule, methods=["PUT"], **options)

    def patch(self, rule: str, **options: Any):
        return self.route(rule, methods=["PATCH"], **options)

    def delete(self, rule: str, **options: Any):
        return self.route(rule, methods=["DELETE"], **options)

    def document(self, *, paths: dict[str, dict[str, Any]] | None = None,
                 schemas: dict[str, Any] | None = None) -> None:
        """Add OpenAPI ``paths`` (relative to ``/api/v1``, ``{param}`` style) and component ``schemas``."""
        self.paths.update(paths or {})
        self.schemas.update(schemas or {})

    def register(self, bp: Blueprint) -> None:
        """Add every recorded route to ``bp``."""
        for rule, view, options in self._rules:
            options = dict(options)
            endpoint = options.pop("endpoint", None)
            bp.add_url_rule(rule, endpoint, view, **options)


def create_api_blueprint(parts: Iterable[ApiRoutes]) -> Blueprint:
    """The ``/api/v1`` blueprint with the routes of ``parts``, the CSRF rule for browser
    sessions and ``GET /openapi.json`` describing exactly the merged fragments.

    Raises :class:`ValueError` when two parts document the same path and method or define one
    schema name differently (a programming error, found at start-up).
    """
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(_csrf_for_sessions)
    spec = base_spec()
    own = ApiRoutes("api")
    own.get("/openapi.json")(openapi)
    own.document(paths={"/openapi.json": {"get": op("This description", auth=False, errors=())}})
    for part in (own, *parts):
        part.register(bp)
        merge_fragment(spec, part.name, part.paths, part.schemas)
    bp.record_once(lambda state: state.app.extensions.__setitem__("ia.openapi", spec))
    return bp


def openapi():
    """``GET /api/v1/openapi.json``: the description of every endpoint the API serves."""
    return jsonify(current_app.extensions["ia.openapi"])


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


def only_fields(data: dict[str, Any], allowed: set[str]) -> None:
    """Refuse a body with keys outside ``allowed`` (a misspelt field would otherwise be ignored).
    Raises :class:`ValidationError` naming each unknown key."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(fields={k[:100]: _("未知参数。") for k in unknown[:20]})


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


def bool_field(data: dict[str, Any], name: str, default: bool = False) -> bool:
    """``data[name]`` when it is a boolean, ``default`` when absent. Raises :class:`ValidationError`."""
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ValidationError(_("%(name)s 必须是 true 或 false。", name=name), fields={name: _("必须是布尔值")})
    return value
