"""The delegation page (代理设置): the delegations one gave and received, a form to delegate, revoke
and confirm buttons, and one's default deputy; and the per-person absence calendar."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth import current_roles
from ..clock import utcnow
from ..errors import DomainError, NotFound
from ..extensions import db
from ..matters.models import MatterType
from ..org.actions import do_set_default_deputy
from ..org.queries import get_hr_scope, get_person_by_uid
from .actions import do_confirm_delegation, do_create_delegation, do_revoke_delegation, parse_instant
from .models import delegation_state
from .queries import get_delegation, get_delegations, local

__all__ = ["bp"]

bp = Blueprint("delegation", __name__)


def _me():
    return current_user._get_current_object()


def _uid_person(value: str, field: str):
    value = (value or "").strip()
    if not value:
        raise DomainError(_("请填写%(field)s的用户名。", field=field))
    try:
        return get_person_by_uid(value)
    except NotFound:
        raise DomainError(_("没有这个人员：%(uid)s", uid=value[:100])) from None


@bp.route("/delegations", methods=["GET", "POST"])
@login_required
def page():
    me = _me()
    now = utcnow()
    scope = get_hr_scope(me, current_roles())
    if request.method == "POST":
        form = request.form
        try:
            principal = me
            if form.get("principal", "").strip() and form.get("principal", "").strip() != me.uid:
                principal = _uid_person(form["principal"], _("委托人"))
            delegate = _uid_person(form.get("delegate", ""), _("代理人"))
            starts_at = parse_instant(form.get("starts_at", ""), "starts_at")
            ends_at = parse_instant(form.get("ends_at", ""), "ends_at", end_of_day=True)
            matters = [m for m in form.getlist("matter_types") if m]
            do_create_delegation(principal, delegate, starts_at, ends_at, acting_user=me, now=now,
                                 matter_types=matters or None, reason=form.get("reason") or None)
            flash(_("已设置代理：%(name)s 将代为处理。", name=delegate.name), "success")
        except DomainError as exc:
            message = "；".join(str(v) for v in exc.fields.values()) if exc.fields else str(exc.message)
            flash(message, "error")
        return redirect(url_for("delegation.page"))
    rows = get_delegations(me, now=now, agency_ids=scope.agency_ids if scope.is_hr else ())
    matters = db.session.execute(select(MatterType.code, MatterType.name).where(MatterType.active.is_(True))
                                 .order_by(MatterType.code)).all()
    given = [r for r in rows if r.principal_id == me.id]
    received = [r for r in rows if r.delegate_id == me.id]
    others = [r for r in rows if me.id not in (r.principal_id, r.delegate_id)]
    return render_template("delegation/page.html", given=given, received=received, others=others, now=now,
                           state=lambda r: delegation_state(r, now), local=local, matters=matters,
                           matter_names=dict(matters), is_hr=scope.is_hr, me=me)


def _row_or_404(delegation_id: int):
    row = get_delegation(delegation_id)
    if row is None:
        raise NotFound()
    return row


@bp.post("/delegations/<int:delegation_id>/revoke")
@login_required
def revoke(delegation_id: int):
    try:
        do_revoke_delegation(_row_or_404(delegation_id), acting_user=_me(), now=utcnow())
        flash(_("已撤销代理。"), "success")
    except DomainError as exc:
        flash(str(exc.message), "error")
    return redirect(url_for("delegation.page"))


@bp.post("/delegations/<int:delegation_id>/confirm")
@login_required
def confirm(delegation_id: int):
    try:
        do_confirm_delegation(_row_or_404(delegation_id), acting_user=_me(), now=utcnow())
        flash(_("已确认代理。"), "success")
    except DomainError as exc:
        flash(str(exc.message), "error")
    return redirect(url_for("delegation.page"))


@bp.post("/delegations/default-deputy")
@login_required
def default_deputy():
    me = _me()
    try:
        value = (request.form.get("deputy") or "").strip()
        deputy = _uid_person(value, _("默认代理人")) if value else None
        do_set_default_deputy(me, deputy, acting_user=me, roles=current_roles(), now=utcnow())
        flash(_("已更新默认代理人。"), "success")
    except DomainError as exc:
        message = "；".join(str(v) for v in exc.fields.values()) if exc.fields else str(exc.message)
        flash(message, "error")
    return redirect(url_for("delegation.page"))


