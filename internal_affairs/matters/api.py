"""``/api/v1/matter-types``, ``/api/v1/route-preview`` and the working-day calendar."""

from __future__ import annotations

from datetime import date

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ..api import bp, json_body, require_user
from ..auth import current_roles
from ..clock import utcnow
from ..errors import BadRequest, ValidationError
from .actions import do_remove_calendar_override, do_set_calendar_override
from .queries import get_calendar, get_matter, list_matters, matter_to_json, preview_route


@bp.get("/matter-types")
def matter_types():
    require_user()
    return jsonify([matter_to_json(m) for m in list_matters()])


@bp.get("/matter-types/<code>")
def matter_type(code: str):
    require_user()
    return jsonify(matter_to_json(get_matter(code)))


@bp.post("/route-preview")
def route_preview():
    viewer = require_user()
    data = json_body()
    unknown = set(data) - {"matter_type", "form", "applicant"}
    if unknown:
        raise ValidationError(fields={k: _("未知参数。") for k in sorted(unknown)[:20]})
    if "matter_type" not in data:
        raise ValidationError(fields={"matter_type": _("请指定事项。")})
    form = data.get("form", {})
    if not isinstance(form, dict):
        raise ValidationError(fields={"form": _("表单必须是对象。")})
    preview = preview_route(data["matter_type"], form, viewer=viewer, roles=current_roles(),
                            applicant_uid=data.get("applicant"),
                            system_admins=current_app.config.get("SYSTEM_ADMINS", ()))
    return jsonify(preview)


def _date_arg(value, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(_("%(name)s 必须是日期（YYYY-MM-DD）。", name=name), code="bad_date") from None


@bp.get("/calendar")
def calendar_days():
    require_user()
    start = _date_arg(request.args.get("from"), "from")
    end = _date_arg(request.args.get("to"), "to")
    if end < start or (end - start).days > 400:
        raise BadRequest(_("日期范围无效（最多 400 天）。"), code="bad_range")
    cal = get_calendar()
    days = []
    for offset in range((end - start).days + 1):
        info = cal.day_info(date.fromordinal(start.toordinal() + offset))
        days.append({"date": info.date.isoformat(), "working_day": info.working, "source": info.source,
                     "estimated": info.estimated})
    return jsonify({"days": days, "working_days": str(cal.working_days_between(start, end)),
                    "estimated_years": list(cal.estimated_years(start, end)),
                    "known_years": [cal.known_years.start, cal.known_years.stop - 1]})


@bp.put("/calendar/<day>")
def set_calendar_day(day: str):
    actor = require_user()
    data = json_body()
    working = data.get("working_day")
    note = data.get("note", "")
    if not isinstance(working, bool):
        raise ValidationError(fields={"working_day": _("必须是 true 或 false。")})
    if not isinstance(note, str):
        raise ValidationError(fields={"note": _("必须是文字。")})
    row = do_set_calendar_override(_date_arg(day, "day"), working, note, acting_user=actor, roles=current_roles(),
                                   now=utcnow())
    return jsonify({"date": row.day.isoformat(), "working_day": row.is_working_day, "note": row.note})


@bp.delete("/calendar/<day>")
def remove_calendar_day(day: str):
    actor = require_user()
    do_remove_calendar_override(_date_arg(day, "day"), acting_user=actor, roles=current_roles(), now=utcnow())
    return "", 204
