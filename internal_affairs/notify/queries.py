"""Reads of the notification domain: a person's in-app list and unread count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..org.models import Person
from .models import OutboxMessage
from .rules import format_hhmm

__all__ = ["get_notifications", "count_unread", "notification_to_json", "preference_to_json"]


def _mine(person: Person):
    return (OutboxMessage.recipient_id == person.id, OutboxMessage.channel == "inapp")


def get_notifications(person: Person, *, unread_only: bool = False, limit: int = 20,
                      offset: int = 0) -> tuple[list[OutboxMessage], int]:
    """The person's in-app notifications, newest first, and how many there are in all."""
    where = list(_mine(person))
    if unread_only:
        where.append(OutboxMessage.read_at.is_(None))
    rows = db.session.execute(select(OutboxMessage).where(*where).order_by(OutboxMessage.id.desc())
                              .limit(limit).offset(offset)).scalars().all()
    total = db.session.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one()
    return list(rows), total


def count_unread(person: Person) -> int:
    """The number for the nav badge (an index scan: ix_outbox_recipient)."""
    return db.session.execute(select(func.count(OutboxMessage.id))
                              .where(*_mine(person), OutboxMessage.read_at.is_(None))).scalar_one()


def notification_to_json(row: OutboxMessage) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "subject": row.subject, "body": row.body, "link": row.link,
            "case_id": row.case_id, "urgent": row.urgent, "created_at": row.created_at.isoformat() + "Z",
            "read_at": row.read_at.isoformat() + "Z" if row.read_at else None}


def preference_to_json(pref) -> dict[str, Any]:
    return {"mail": pref.mail, "chat": pref.chat, "quiet_start": format_hhmm(pref.quiet_start),
            "quiet_end": format_hhmm(pref.quiet_end)}
