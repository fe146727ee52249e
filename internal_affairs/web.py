"""Pages that belong to no single domain: the home page and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from .org.queries import get_leader_chain, get_role_holdings

bp = Blueprint("web", __name__)


@bp.get("/")
@login_required
def home():
    me = current_user._get_current_object()
    return render_template("home.html", me=me, chain=get_leader_chain(me), holdings=get_role_holdings(me))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in ("zh", "en"):
        session["lang"] = code
    target = request.referrer or url_for("web.home")
    if not target.startswith(request.host_url) and not target.startswith("/"):
        target = url_for("web.home")
    return redirect(target)


@bp.get("/healthz")
def healthz():
    from sqlalchemy import text

    from .extensions import db

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
