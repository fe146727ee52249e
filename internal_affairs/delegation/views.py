"""The delegation page (代理设置): the delegations one gave and received, a form to delegate, revoke
and confirm buttons, and one's default deputy; and the per-person absence calendar."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth import current_roles
from ..clock import local_day, local_midnight, utcnow
from ..errors import DomainError, NotFound
from ..extensions import db
from ..calendar.queries import get_calendar
from ..matters.models import MatterType
from ..org.actions import do_set_default_deputy
from ..org.models import Person
from ..org.queries import get_hr_scope, get_person_by_uid
from .actions import (do_confirm_delegation, do_create_delegation, do_revoke_delegation, parse_instant,
                      parse_person)
from .models import delegation_state
from .queries import access_delegation, get_absences, get_delegations, get_month_delegations, local

__all__ = ["bp"]

bp = Blueprint("delegation", __name__)


def _me():
    return current_user._get_current_object()


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
                principal = parse_person(form["principal"], "principal", _("委托人"))
            delegate = parse_person(form.get("delegate", ""), "delegate", _("代理人"))
            starts_at = parse_instant(form.get("starts_at", ""), "starts_at")
            ends_at = parse_instant(form.get("ends_at", ""), "ends_at", end_of_day=True)
            matters = [m for m in form.getlist("matter_types") if m]
            do_create_delegation(principal, delegate, starts_at, ends_at, acting_user=me, now=now,
                                 matter_types=matters or None, reason=form.get("reason") or None)
            flash(_("已设置代理：%(name)s 将代为处理。", name=delegate.name), "success")
        except DomainError as exc:
            flash(exc.page_message(), "error")
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


def _act(delegation_id: int, action, done: str):
    """Revoke or confirm one delegation the user may see (404 otherwise), flash the outcome and go
    back to the page."""
    me = _me()
    row = access_delegation(delegation_id, me, current_roles())
    try:
        action(row, acting_user=me, now=utcnow())
        flash(done, "success")
    except DomainError as exc:
        flash(exc.page_message(), "error")
    return redirect(url_for("delegation.page"))


@bp.post("/delegations/<int:delegation_id>/revoke")
@login_required
def revoke(delegation_id: int):
    return _act(delegation_id, do_revoke_delegation, _("已撤销代理。"))


@bp.post("/delegations/<int:delegation_id>/confirm")
@login_required
def confirm(delegation_id: int):
    return _act(delegation_id, do_confirm_delegation, _("已确认代理。"))


@bp.post("/delegations/default-deputy")
@login_required
def default_deputy():
    me = _me()
    try:
        value = (request.form.get("deputy") or "").strip()
        deputy = parse_person(value, "deputy", _("默认代理人")) if value else None
        do_set_default_deputy(me, deputy, acting_user=me, roles=current_roles(), now=utcnow())
        flash(_("已更新默认代理人。"), "success")
    except DomainError as exc:
        flash(exc.page_message(), "error")
    return redirect(url_for("delegation.page"))




def _month_arg(value: str | None) -> date:
    """The first day of ``value`` (``YYYY-MM``); this month when it is absent, malformed or out of
    1970–2100 (the page's weeks would run past what :class:`date` holds)."""
    this_month = local_day(utcnow()).replace(day=1)
    try:
        month = date.fromisoformat(value + "-01") if value else this_month
    except ValueError:
        return this_month
    return month if 1970 <= month.year <= 2100 else this_month


@bp.get("/people/<uid>/calendar")
@login_required
def person_calendar(uid: str):
    """A person's month: working days, their approved absences and their delegations (given and
    received). The person themselves, HR of their agency and administrators see it; HR can step
    through the agency's people."""
    me = _me()
    person = get_person_by_uid(uid)
    scope = get_hr_scope(me, current_roles())
    if person.id != me.id and not scope.district and person.agency_id not in scope.agency_ids:
        raise NotFound()
    month = _month_arg(request.args.get("month"))
    first = month - timedelta(days=month.weekday())
    next_month = (month + timedelta(days=32)).replace(day=1)
    last_shown = next_month + timedelta(days=(6 - next_month.weekday()) % 7)
    cal = get_calendar()

    absences = get_absences(person, first, last_shown)
    delegations = get_month_delegations(person, local_midnight(first), local_midnight(last_shown + timedelta(days=1)))
    weeks = []
    for w in range(6):
        week = []
        for d in range(7):
            day = first + timedelta(days=7 * w + d)
            marks = [a for a in absences if a["start"] <= day <= a["end"]]
            deleg = [r for r in delegations
                     if local_day(r.starts_at) <= day <= local_day(r.ends_at - timedelta(seconds=1))]
            week.append({"date": day, "info": cal.day_info(day), "absences": marks, "delegations": deleg})
        if week[0]["date"] >= next_month:
            break
        weeks.append(week)
    people = []
    if scope.is_hr:
        stmt = select(Person.uid, Person.name).where(Person.active.is_(True)).order_by(Person.name)
        if not scope.district:
            stmt = stmt.where(Person.agency_id.in_(sorted(scope.agency_ids)))
        else:
            stmt = stmt.where(Person.agency_id == person.agency_id)
        people = db.session.execute(stmt.limit(500)).all()
    return render_template("delegation/calendar.html", person=person, month=month, weeks=weeks, absences=absences,
                           delegations=delegations, local=local, people=people, me=me,
                           prev_month=(month - timedelta(days=1)).replace(day=1), next_month=next_month,
                           month_absences=[a for a in absences if a["start"] < next_month and a["end"] >= month])


@bp.get("/calendar/person")
@login_required
def pick_person():
    """The person picker of the calendar page (a GET form): on to that person's calendar."""
    uid = (request.args.get("uid") or "").strip()[:100] or _me().uid
    month = _month_arg(request.args.get("month")).strftime("%Y-%m")
    return redirect(url_for("delegation.person_calendar", uid=uid, month=month))
