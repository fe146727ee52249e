"""``/api/v1/calendar``: working days between two dates, and the administrators' overrides."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_babel import gettext as _

from ..api import ApiRoutes, json_body, require_user
from ..api.openapi import op, path_param
from ..auth import current_roles
from ..clock import utcnow
from ..errors import BadRequest, ValidationError
from .actions import do_remove_calendar_override, do_set_calendar_override
from .queries import get_calendar

routes = ApiRoutes("calendar")


def _date_arg(value, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(_("%(name)s 必须是日期（YYYY-MM-DD）。", name=name), code="bad_date") from None


@routes.get("/calendar")
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


@routes.put("/calendar/<day>")
def set_calendar_day(day: str):
    acting_user = require_user()
    data = json_body()
    working = data.get("working_day")
    note = data.get("note", "")
    if not isinstance(working, bool):
        raise ValidationError(fields={"working_day": _("必须是 true 或 false。")})
    if not isinstance(note, str):
        raise ValidationError(fields={"note": _("必须是文字。")})
    row = do_set_calendar_override(_date_arg(day, "day"), working, note, acting_user=acting_user,
                                   roles=current_roles(), now=utcnow())
    return jsonify({"date": row.day.isoformat(), "working_day": row.is_working_day, "note": row.note})


@routes.delete("/calendar/<day>")
def remove_calendar_day(day: str):
    acting_user = require_user()
    do_remove_calendar_override(_date_arg(day, "day"), acting_user=acting_user, roles=current_roles(), now=utcnow())
    return "", 204


routes.document(paths={
    "/calendar": {"get": op("Working days between two dates", params=[
        {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}}])},
    "/calendar/{day}": {
        "put": op("Override one day (administrators)", params=[path_param("day")], body={
            "type": "object", "required": ["working_day"],
            "properties": {"working_day": {"type": "boolean"}, "note": {"type": "string"}}}),
        "delete": op("Back to the official calendar (administrators)", ok="204", params=[path_param("day")]),
    },
})
