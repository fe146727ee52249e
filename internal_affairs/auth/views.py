"""Login and logout pages; ending sessions and revoking tokens from a person's page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..clock import utcnow
from ..errors import AuthenticationFailed, ServiceUnavailable
from ..org.models import Person
from ..org.queries import get_person_by_uid
from . import current_roles
from .actions import authenticate, do_end_session, do_log_out_everywhere, do_revoke_token, do_start_session
from .throttle import LoginThrottled

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名。")), Length(max=100)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。")), Length(max=512)])


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


def _fresh_session() -> None:
    """Forget everything the session cookie held (the previous login's key, the CSRF token) but
    the language; the next page gets a new CSRF token."""
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF keeps this request's token here
    if lang:
        session["lang"] = lang


def _begin_session(person: Person, key: str) -> None:
    _fresh_session()
    login_user(person)
    session["_user_id"] = key  # what Flask-Login hands the user loader: the session key, not the person id


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        now = utcnow()
        try:
            person = authenticate(form.username.data, form.password.data, config=current_app.config, now=now,
                                  address=request.remote_addr)
        except (AuthenticationFailed, ServiceUnavailable, LoginThrottled) as exc:
            flash(str(exc.message), "error")
            status = exc.http_status
            if isinstance(exc, LoginThrottled):
                headers["Retry-After"] = str(exc.retry_after)
        else:
            key = do_start_session(person, user_agent=request.user_agent.string, address=request.remote_addr,
                                   now=now, replacing=session.get("_user_id"))
            _begin_session(person, key)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    do_end_session(session.get("_user_id"), now=utcnow())
    logout_user()
    _fresh_session()
    flash(gettext("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.post("/org/people/<uid>/logout-everywhere")
@login_required
def logout_everywhere(uid: str):
    target = get_person_by_uid(uid)
    acting_user = current_user._get_current_object()
    sessions, tokens = do_log_out_everywhere(target, acting_user=acting_user, roles=current_roles(), now=utcnow())
    if target.id == acting_user.id:
        logout_user()
        _fresh_session()
        flash(gettext("已在所有设备上退出登录。"), "info")
        return redirect(url_for("auth.login"))
    flash(gettext("已结束 %(name)s 的全部登录：%(sessions)s 个会话，%(tokens)s 个令牌。",
                  name=target.name, sessions=sessions, tokens=tokens), "success")
    return redirect(url_for("org.person", uid=uid))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    acting_user = current_user._get_current_object()
    row = do_revoke_token(token_id, acting_user=acting_user, roles=current_roles(), now=utcnow())
    flash(gettext("令牌已吊销。"), "success")
    return redirect(url_for("org.person", uid=row.person.uid))
