"""Reading the auditors' filters from a request, and the audited export (CSV for WPS/Excel, JSON)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..clock import LOCAL_TZ
from ..atomic import atomic
from ..errors import ValidationError
from ..extensions import db
from ..inputs import is_db_id
from .actions import record_event
from .queries import EventFilters, check_can_audit, events_to_json, iter_events

__all__ = ["parse_filters", "do_export", "MAX_EXPORT", "CSV_COLUMNS"]

MAX_EXPORT = 100_000
CSV_COLUMNS = [("seq", _l("序号")), ("at", _l("时间（UTC）")), ("action", _l("动作")), ("action_label", _l("动作名称")), ("actor", _l("操作人账号")),
               ("actor_name", _l("操作人")), ("actor_agency", _l("单位")), ("on_behalf_of", _l("被代理人账号")),
               ("on_behalf_of_name", _l("被代理人")), ("object_type", _l("对象类型")), ("object_id", _l("对象")),
               ("before", _l("变更前")), ("after", _l("变更后")), ("data", _l("详情")), ("client_address", _l("客户端地址")),
               ("hash", _l("哈希"))]




def _when(value: Any, name: str, *, end: bool, local: bool = False) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(fields={name: _("必须是日期或时间（YYYY-MM-DD 或 YYYY-MM-DDTHH:MM）。")})
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time())
            if local:  # a day in Beijing: from its midnight there, in UTC
                moment = moment.replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)
            return moment
        moment = datetime.fromisoformat(value.removesuffix("Z"))
        if moment.tzinfo is not None:
            moment = (moment - moment.utcoffset()).replace(tzinfo=None)
    except (ValueError, OverflowError):  # OverflowError: a moment at the edge of year 1 or 9999
        raise ValidationError(fields={name: _("必须是日期或时间（YYYY-MM-DD 或 YYYY-MM-DDTHH:MM）。")}) from None
    return moment


def _text(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 120:
        raise ValidationError(fields={name: _("必须是不超过 120 字的文字。")})
    return value.strip() or None


def parse_filters(args: Mapping[str, Any], *, local_days: bool = False) -> EventFilters:
    """The filters of a query string or a JSON object; ``from`` and ``to`` days are UTC days, or
    Beijing days with ``local_days`` (the pages). Raises :class:`ValidationError` (422)."""
    agency = args.get("agency")
    if agency in (None, ""):
        agency_id = None
    else:
        if not is_db_id(str(agency).strip()):
            raise ValidationError(fields={"agency": _("必须是单位编号。")})
        agency_id = int(str(agency).strip())
    since = _when(args.get("from"), "from", end=False, local=local_days)
    until = _when(args.get("to"), "to", end=True, local=local_days)
    if since and until and until <= since:
        raise ValidationError(fields={"to": _("结束时间必须晚于开始时间。")})
    return EventFilters(person=_text(args.get("person"), "person"), agency=agency_id,
                        matter=_text(args.get("matter"), "matter"), case=_text(args.get("case"), "case"),
                        document=_text(args.get("document"), "document"), action=_text(args.get("action"), "action"),
                        since=since, until=until)


def _filters_json(f: EventFilters) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(f).items() if v is not None}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # a spreadsheet must not run a cell as a formula
    return text


@atomic
def do_export(fmt: Any, filters: EventFilters, *, acting_user, roles, now: datetime) -> tuple[bytes, str, str]:
    """The matching events as ``(body, mimetype, filename)``; the export is itself an audit event
    (with the filters and the count). CSV is UTF-8 with a BOM so that WPS and Excel show Chinese.
    Raises :class:`NotFound` (not an auditor or administrator) and :class:`ValidationError`."""
    check_can_audit(roles)
    if fmt not in ("csv", "json"):
        raise ValidationError(fields={"format": _("必须是 csv 或 json。")})
    items: list[dict[str, Any]] = []
    batch = []
    for row in iter_events(filters):
        batch.append(row)
        if len(batch) == 1000:
            items.extend(events_to_json(batch))
            batch = []
        if len(items) + len(batch) > MAX_EXPORT:
            raise ValidationError(_("匹配的记录超过 %(n)s 条，请缩小范围后再导出。", n=MAX_EXPORT), code="too_many")
    items.extend(events_to_json(batch))
    stamp = now.strftime("%Y%m%d-%H%M%S")
    record_event("audit.exported", actor=acting_user, object_type="audit_export", object_id=stamp, now=now,
                 data={"format": fmt, "filters": _filters_json(filters), "count": len(items)})
    db.session.commit()
    if fmt == "json":
        body = json.dumps({"filters": _filters_json(filters), "exported_at": now.replace(tzinfo=None).isoformat() + "Z",
                           "items": items}, ensure_ascii=False, indent=1).encode()
        return body, "application/json", f"audit-{stamp}.json"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for _key, label in CSV_COLUMNS])
    for item in items:
        writer.writerow([_cell(item[key]) for key, _label in CSV_COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", f"audit-{stamp}.csv"
