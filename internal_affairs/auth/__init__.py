"""Login, sessions, bearer tokens and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet

from flask import Flask, g

from ..clock import utcnow
from ..extensions import db, login_manager

__all__ = ["setup", "current_roles", "LazyRoles"]


def setup(app: Flask) -> None:
    """Wire Flask-Login: session users by id, API users by bearer token."""
    from ..org.models import Person
    from .actions import get_token_person

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(user_id: str):
        if not user_id.isdigit():
            return None
        person = db.session.get(Person, int(user_id))
        return person if person is not None and person.active else None

    @login_manager.request_loader
    def load_from_token(req):
        header = req.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            g.auth_via_token = True
            return get_token_person(header[7:].strip(), now=utcnow())
        return None

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
    from flask import current_app
    from flask_login import current_user

    from ..org.queries import get_roles

    if "roles" not in g:
        person, admins = current_user._get_current_object(), tuple(current_app.config.get("SYSTEM_ADMINS", ()))
        g.roles = LazyRoles(lambda: get_roles(person, admins))
    return g.roles
