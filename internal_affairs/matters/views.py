"""The catalog page, each matter's guide page with the route preview, the calendar page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ..auth import current_roles
from ..clock import utcnow
from ..errors import BadRequest, DomainError, ValidationError
from .actions import do_remove_calendar_override, do_set_calendar_override
from .queries import get_calendar, get_matter, list_matters_by_category, preview_route
from .regions import regions
from .schema import MatterDefinition

bp = Blueprint("matters", __name__, url_prefix="/matters")


def form_from_request(definition: MatterDefinition, formdata: MultiDict) -> dict[str, Any]:
    """Turn posted HTML form values into the JSON shape the services validate."""
    out: dict[str, Any] = {}
    for spec in definition.fields:
        if spec.type == "material":
            continue
        for key in spec.keys():
            if spec.type in ("multi_select", "regions"):
                values = [v for v in formdata.getlist(key) if v]
                if values:
                    out[key] = values
            elif spec.type == "boolean":
                out[key] = formdata.get(key) == "on"
            else:
                value = formdata.get(key, "")
                if value != "":
                    out[key] = value
    return out


@bp.get("/")
@login_required
def catalog():
    return render_template("matters/catalog.html", grouped=list_matters_by_category(), target="matters.guide")


@bp.route("/<code>", methods=["GET", "POST"])
@login_required
def guide(code: str):
    loaded = get_matter(code)
    preview = None
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    applicant_uid = request.values.get("applicant") or None
    if request.method == "POST":
        values = form_from_request(loaded.definition, request.form)
        try:
            preview = preview_route(code, values, viewer=current_user._get_current_object(), roles=current_roles(),
                                    applicant_uid=applicant_uid,
                                    system_admins=current_app.config.get("SYSTEM_ADMINS", ()))
        except ValidationError as exc:
            errors = exc.fields or {"form": str(exc.message)}
            if not exc.fields:
                flash(str(exc.message), "error")
    status = 422 if errors else 200
    return render_template("matters/guide.html", matter=loaded, d=loaded.definition, preview=preview,
                           errors=errors, values=values, regions=regions(), applicant_uid=applicant_uid), status


@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    roles = current_roles()
    if request.method == "POST":
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            raise BadRequest(_("日期格式不正确。")) from None
        try:
            if request.form.get("action") == "remove":
                do_remove_calendar_override(day, acting_user=current_user._get_current_object(), roles=roles, now=utcnow())
            else:
                do_set_calendar_override(day, request.form.get("working_day") == "1", request.form.get("note", ""),
                                         acting_user=current_user._get_current_object(), roles=roles, now=utcnow())
            flash(_("工作日历已更新。"), "success")
        except DomainError as exc:
            flash(str(exc.message), "error")
        return redirect(url_for("matters.calendar", month=day.strftime("%Y-%m")))
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
    return render_template("matters/calendar.html", weeks=weeks, month=month, prev_month=prev_month,
                           next_month=next_month, known=cal.is_known(month.year), can_edit="admin" in roles,
                           overrides=cal.overrides)
