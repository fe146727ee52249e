"""The calendar page: a month of working days, and the administrators' form to override a day.

The page keeps the address it had when the calendar lived with the catalog, ``/matters/calendar``.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import current_roles
from ..clock import utcnow
from ..errors import BadRequest, DomainError
from .actions import do_remove_calendar_override, do_set_calendar_override
from .queries import get_calendar

bp = Blueprint("calendar", __name__)


@bp.route("/matters/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    roles = current_roles()
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            raise BadRequest(_("日期格式不正确。")) from None
        acting_user = current_user._get_current_object()
        try:
            if request.form.get("action") == "remove":
                do_remove_calendar_override(day, acting_user=acting_user, roles=roles, now=utcnow())
            else:
                do_set_calendar_override(day, request.form.get("working_day") == "1", request.form.get("note", ""),
                                         acting_user=acting_user, roles=roles, now=utcnow())
            flash(_("工作日历已更新。"), "success")
        except DomainError as exc:
            flash(str(exc.message), "error")
        return redirect(url_for("calendar.calendar", month=day.strftime("%Y-%m")))
    try:
        month = date.fromisoformat((request.args.get("month") or utcnow().strftime("%Y-%m")) + "-01")
    except ValueError:
        month = utcnow().date().replace(day=1)
    cal = get_calendar()
    first = month - timedelta(days=month.weekday())
    weeks = []
    for w in range(6):
        week = [cal.day_info(first + timedelta(days=7 * w + d)) for d in range(7)]
        if week[0].date.month != month.month and w > 3:
            break
        weeks.append(week)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return render_template("calendar/calendar.html", weeks=weeks, month=month, prev_month=prev_month,
                           next_month=next_month, known=cal.is_known(month.year), can_edit="admin" in roles,
                           overrides=cal.overrides)
