"""Login, sessions, bearer tokens and role checks."""

from __future__ import annotations

from flask import Flask, g

from ..clock import utcnow
from ..extensions import db, login_manager

__all__ = ["setup", "current_roles"]


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


def current_roles() -> set[str]:
    """The logged-in person's role codes (cached per request)."""
    from flask import current_app
    from flask_login import current_user

    from ..org.queries import get_roles

    if "roles" not in g:
        g.roles = get_roles(current_user, current_app.config.get("SYSTEM_ADMINS", ()))
    return g.roles
