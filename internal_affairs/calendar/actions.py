"""Administrators' overrides of the official calendar."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..atomic import atomic
from ..audit.actions import record_event
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..org.models import Person
from .models import CalendarOverride
from .queries import forget_calendar

__all__ = ["do_set_calendar_override", "do_remove_calendar_override"]


def _check_admin(roles: set[str]) -> None:
    if "admin" not in roles:
        raise PermissionDenied(_("只有系统管理员可以调整工作日历。"))


@atomic
def do_set_calendar_override(day: date, is_working_day: bool, note: str, *, acting_user: Person,
                             roles: set[str], now: datetime) -> CalendarOverride:
    """Mark ``day`` as a working day or a holiday, overriding the official calendar.

    Raises :class:`PermissionDenied` (not an administrator) and :class:`ValidationError` (note too long).
    """
    _check_admin(roles)
    if len(note) > 500:
        raise ValidationError(fields={"note": _("说明不能超过 500 字。")})
    row = db.session.execute(select(CalendarOverride).where(CalendarOverride.day == day)).scalar_one_or_none()
    before = None if row is None else row.is_working_day
    if row is None:
        row = CalendarOverride(day=day, is_working_day=is_working_day, note=note, updated_at=now,
                               updated_by_id=acting_user.id)
        db.session.add(row)
    else:
        row.is_working_day, row.note, row.updated_at, row.updated_by_id = is_working_day, note, now, acting_user.id
    record_event("calendar.override.set", actor=acting_user, object_type="calendar_day", object_id=day.isoformat(),
                 data={"before": before, "after": is_working_day, "note": note}, now=now)
    db.session.commit()
    forget_calendar()
    return row


@atomic
def do_remove_calendar_override(day: date, *, acting_user: Person, roles: set[str], now: datetime) -> None:
    """Return ``day`` to the official calendar. The audit log keeps what it was.

    Raises :class:`PermissionDenied` (not an administrator).
    """
    _check_admin(roles)
    row = db.session.execute(select(CalendarOverride).where(CalendarOverride.day == day)).scalar_one_or_none()
    if row is None:
        return
    record_event("calendar.override.removed", actor=acting_user, object_type="calendar_day",
                 object_id=day.isoformat(), data={"was": row.is_working_day, "note": row.note}, now=now)
    db.session.delete(row)
    db.session.commit()
    forget_calendar()
