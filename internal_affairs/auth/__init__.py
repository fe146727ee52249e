"""Login, sessions, bearer tokens and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from datetime import timedelta

from flask import Flask, g, request, session
from flask_babel import gettext as _

from ..clock import utcnow
from ..errors import AuthenticationFailed
from ..extensions import login_manager

__all__ = ["setup", "current_roles", "LazyRoles"]


def setup(app: Flask) -> None:
    """Wire Flask-Login: browser sessions by the session key the cookie carries, API clients by
    bearer token. When a request carries an ``Authorization`` header, that header alone
    authenticates it: the session cookie is not looked at, and a header that names no live token
    is answered 401 on every route (but ``POST /api/v1/auth/token``, which authenticates by the
    credentials in its body)."""
    from .actions import get_session_person, get_token_person

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"
    idle = timedelta(hours=int(app.config.get("SESSION_IDLE_HOURS", 12)))

    @login_manager.user_loader
    def load_user(session_key: str):
        if "Authorization" in request.headers:
            return None  # the header alone authenticates (load_from_token)
        return get_session_person(session_key, now=utcnow(), idle=idle)

    @login_manager.request_loader
    def load_from_token(req):
        header = req.headers.get("Authorization")
        if header is None:
            return None
        g.auth_via_token = True
        if header[:7].lower() != "bearer ":
            return None
        return get_token_person(header[7:].strip(), now=utcnow())

    @app.before_request
    def authenticate_first() -> None:
        """Load the requester before the view does anything: a bad ``Authorization`` header ends
        the request here (nothing written), and a session's occasional ``last_seen_at`` write
        commits before the view's own work begins."""
        from flask_login import current_user

        if "Authorization" in request.headers:
            if request.endpoint != "api.issue_token" and not current_user.is_authenticated:
                raise AuthenticationFailed(_("令牌无效或已过期，请重新获取。"), code="invalid_token")
        elif "_user_id" in session and request.endpoint != "static":
            current_user.is_authenticated  # noqa: B018  (loads the session's person)

    @app.context_processor
    def inject_roles():
        from flask_login import current_user

        return {"current_roles": current_roles() if current_user.is_authenticated else set()}


class LazyRoles(AbstractSet):
    """A person's role codes, read from the database the first time they are asked for: most
    requests of an approver never need them (a task's holder may see its case anyway)."""

    def __init__(self, load: Callable[[], set[str]]):
        self._load = load
        self._codes: set[str] | None = None

    def _get(self) -> set[str]:
        if self._codes is None:
            self._codes = set(self._load())
        return self._codes

    def __contains__(self, code: object) -> bool:
        return code in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    @classmethod
    def _from_iterable(cls, it) -> set[str]:  # results of &, |, - are plain sets
        return set(it)

    def __repr__(self) -> str:
        return f"LazyRoles({sorted(self._codes) if self._codes is not None else '...'})"


def current_roles() -> LazyRoles:
    """The logged-in person's role codes (read at most once per request, when first needed)."""
    from flask_login import current_user

    from ..org.queries import get_roles, system_admins

    if "roles" not in g:
        person, admins = current_user._get_current_object(), system_admins()
        g.roles = LazyRoles(lambda: get_roles(person, admins))
    return g.roles
