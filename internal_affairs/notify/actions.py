"""Writes of the notification domain: :func:`notify` (the outbox, in the caller's transaction),
marking in-app notifications read, and a person's preferences."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..atomic import atomic
from ..audit.actions import record_event
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..org.models import Person
from .bulk import insert_new
from .models import NotifyPreference, OutboxMessage
from .rules import DEFAULT_QUIET, parse_hhmm, quiet_until

__all__ = ["Notice", "notify", "notify_many", "get_preference", "do_mark_read", "do_mark_all_read", "do_set_preferences"]


def _default_preference(person_id: int | None = None) -> NotifyPreference:
    """The preferences of someone who set none (not added to the session)."""
    return NotifyPreference(person_id=person_id, mail=True, chat=True,
                            quiet_start=DEFAULT_QUIET[0], quiet_end=DEFAULT_QUIET[1])


_DEFAULTS = _default_preference()


def get_preference(person_id: int) -> NotifyPreference:
    """The person's preferences, or the defaults (not added to the session) when they set none."""
    return db.session.get(NotifyPreference, person_id) or _default_preference(person_id)


@dataclass(frozen=True)
class Notice:
    """One notification for :func:`notify_many`: what :func:`notify` takes, as data."""

    recipients: tuple[Person, ...]
    kind: str
    subject: str
    body: str
    link: str | None
    dedupe_key: str
    urgent: bool = False
    case_id: int | None = None


def notify(recipients: Iterable[Person], *, kind: str, subject: str, body: str,
           link: str | None, dedupe_key: str, now: datetime, urgent: bool = False,
           case_id: int | None = None) -> int:
    """Add outbox rows in the CURRENT transaction (no commit): one per recipient and enabled
    channel — in-app always; mail when the person has an address, keeps mail on and IA_SMTP_URL
    is set; chat when IA_WEBHOOK_URL is set and the person keeps chat on (a non-urgent chat push
    in the person's quiet hours waits until they end). Unique per (dedupe_key, recipient,
    channel): a second call with the same key adds nothing. Returns the rows added."""
    return notify_many([Notice(tuple(recipients), kind, subject, body, link, dedupe_key, urgent, case_id)], now=now)


def notify_many(notices: Iterable[Notice], *, now: datetime) -> int:
    """:func:`notify` for many notices at once: one read of the recipients' preferences and
    batched inserts (the time-limit scan fires thousands). Returns the rows added."""
    config = current_app.config
    now = now.replace(tzinfo=None)
    notices = [n for n in notices if n.recipients]
    ids = {p.id for n in notices for p in n.recipients if p is not None}
    if not ids:
        return 0
    prefs = {p.person_id: p for p in db.session.execute(
        select(NotifyPreference).where(NotifyPreference.person_id.in_(sorted(ids)))).scalars()}
    smtp, webhook = bool(config.get("SMTP_URL")), bool(config.get("WEBHOOK_URL"))
    rows: list[dict[str, Any]] = []
    for notice in notices:
        seen: set[int] = set()
        for person in notice.recipients:
            if person is None or person.id in seen:
                continue
            seen.add(person.id)
            pref = prefs.get(person.id) or _DEFAULTS
            base = dict(recipient_id=person.id, kind=notice.kind, subject=notice.subject[:300], body=notice.body,
                        link=notice.link, dedupe_key=notice.dedupe_key[:200], case_id=notice.case_id,
                        urgent=notice.urgent, attempts=0, created_at=now, next_attempt_at=now, sent_at=None)
            rows.append(base | {"channel": "inapp", "status": "sent", "sent_at": now})
            if person.mail and pref.mail and smtp:
                rows.append(base | {"channel": "mail", "status": "pending"})
            if webhook and pref.chat:
                later = None if notice.urgent else quiet_until(now, pref.quiet_start, pref.quiet_end)
                rows.append(base | {"channel": "chat", "status": "pending", "next_attempt_at": later or now})
    return len(insert_new(OutboxMessage.__table__, rows, conflict=("dedupe_key", "recipient_id", "channel"),
                          returning=("id",)))


def _own_notification(notification_id: Any, acting_user: Person) -> OutboxMessage:
    row = db.session.get(OutboxMessage, notification_id) if isinstance(notification_id, int) else None
    if row is None or row.recipient_id != acting_user.id or row.channel != "inapp":
        raise NotFound(_("没有这条通知。"))
    return row


@atomic
def do_mark_read(notification_id: Any, *, acting_user: Person, now: datetime) -> OutboxMessage:
    """Mark one of the acting user's in-app notifications read (again: no change).

    Raises :class:`NotFound` for a notification that is not theirs."""
    row = _own_notification(notification_id, acting_user)
    if row.read_at is None:
        row.read_at = now
    db.session.commit()
    return row


@atomic
def do_mark_all_read(*, acting_user: Person, now: datetime) -> int:
    """Mark all of the acting user's in-app notifications read; returns how many changed."""
    result = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.recipient_id == acting_user.id, OutboxMessage.channel == "inapp",
                                    OutboxMessage.read_at.is_(None)).values(read_at=now))
    db.session.commit()
    return result.rowcount or 0


def _quiet(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    minutes = parse_hhmm(value) if isinstance(value, str) else None
    if minutes is None:
        errors[field] = _("时间格式为 HH:MM，例如 22:00。")
    return minutes


@atomic
def do_set_preferences(data: Any, *, acting_user: Person, now: datetime) -> NotifyPreference:
    """Set the acting user's channels and quiet hours from ``{"mail": bool, "chat": bool,
    "quiet_start": "HH:MM"|null, "quiet_end": "HH:MM"|null}`` (keys left out keep their value).

    Raises :class:`ValidationError` naming the bad fields."""
    if not isinstance(data, dict):
        raise ValidationError(fields={"body": _("必须是一个 JSON 对象。")})
    errors: dict[str, str] = {}
    pref = get_preference(acting_user.id)
    values = {"mail": pref.mail, "chat": pref.chat, "quiet_start": pref.quiet_start, "quiet_end": pref.quiet_end}
    for key in ("mail", "chat"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = _("必须是 true 或 false。")
            else:
                values[key] = data[key]
    for key in ("quiet_start", "quiet_end"):
        if key in data:
            values[key] = _quiet(data[key], key, errors)
    unknown = set(data) - set(values)
    for key in sorted(unknown):
        errors[str(key)[:50]] = _("未知字段。")
    if (values["quiet_start"] is None) != (values["quiet_end"] is None) and not errors:
        errors["quiet_end"] = _("免打扰的开始和结束时间须同时填写或同时留空。")
    if errors:
        raise ValidationError(fields=errors)
    row = db.session.get(NotifyPreference, acting_user.id)
    if row is None:
        row = NotifyPreference(person_id=acting_user.id)
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    record_event("notify.preferences.changed", actor=acting_user, object_type="person", object_id=acting_user.id,
                 data=dict(values), now=now)
    db.session.commit()
    return row
