"""Appending to and verifying the audit hash chain.

Every write action calls :func:`record_event` inside its own transaction, so the event commits
or rolls back with the change it describes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text

from ..extensions import db
from .models import AuditEvent

__all__ = ["record_event", "record_events", "Event", "verify_chain", "ChainReport", "GENESIS"]

GENESIS = "0" * 64


def _payload(event: Any) -> dict[str, Any]:
    """What an event's hash covers but its place in the chain (``prev`` and ``seq``)."""
    return {
        "at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "on_behalf_of": event.on_behalf_of_id,
        "action": event.action,
        "object": [event.object_type, event.object_id],
        "data": event.data,
    }


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _canonical(event: Any) -> bytes:
    """The bytes an event's hash covers; ``event`` is an :class:`AuditEvent` or a namespace with
    the same attributes."""
    return _dumps(_payload(event) | {"seq": event.seq, "prev": event.prev_hash}).encode()


def _canonical_head(event: Any) -> str:
    """:func:`_canonical` up to the two keys that depend on the chain's tip, which sort last:
    ``head + ',"prev":"<hash>","seq":<n>}'`` is the whole (migration 0007 completes it)."""
    return _dumps(_payload(event))[:-1]


CHAIN_LOCK_KEY = 424242
"""The advisory lock that serialises appenders on PostgreSQL (migrations 0006 and 0007 use it too)."""
_APPEND = text("SELECT new_seq, new_hash FROM ia_audit_append(:head, :occurred_at, :actor_id, :actor_label, "
               ":on_behalf_of_id, :action, :object_type, :object_id, CAST(:data AS json))")
_TIP = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__)  # Core: no ORM bulk-insert machinery for one row


def record_event(action: str, *, actor: Any | None, object_type: str, object_id: Any,
                 data: dict[str, Any] | None = None, now: datetime,
                 on_behalf_of: Any | None = None) -> str:
    """Append one event to the chain in the current transaction (the caller commits); returns
    its hash.

    The caller's pending changes are written first, so the chain's lock is held only for the
    append itself and the commit. The chain is locked until the transaction ends: on PostgreSQL
    the lock, the tip, the hash and the insert are one round trip (migration 0007); SQLite
    serialises writers itself."""
    db.session.flush()
    encoded = json.dumps(data or {}, default=str)
    event = SimpleNamespace(
        occurred_at=now.replace(tzinfo=None),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "uid", None) or "system",
        on_behalf_of_id=getattr(on_behalf_of, "id", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=json.loads(encoded),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_APPEND, vars(event) | {"head": _canonical_head(event), "data": encoded}).one()
        return row.new_hash
    tip = db.session.execute(_TIP).first()
    event.seq, event.prev_hash = (tip[0] + 1, tip[1]) if tip else (1, GENESIS)
    event.hash = hashlib.sha256(_canonical(event)).hexdigest()
    db.session.execute(_INSERT, vars(event))
    return event.hash


@dataclass(frozen=True)
class Event:
    """One event for :func:`record_events`: the same facts :func:`record_event` takes, as data."""

    action: str
    object_type: str
    object_id: Any
    occurred_at: datetime
    actor_id: int | None = None
    actor_label: str = "system"
    on_behalf_of_id: int | None = None
    data: dict[str, Any] | None = None


_LOCK = text(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY})")


def record_events(events: list[Event]) -> int:
    """Append many events in order in the current transaction (the caller commits), with one tip
    read and one batched insert: for imports and bulk loads, where one round trip per event would
    dominate. Holds the chain's lock (PostgreSQL: the advisory lock :func:`record_event`'s database
    function takes) until the transaction ends. Returns how many were appended."""
    if not events:
        return 0
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_LOCK)
    tip = db.session.execute(_TIP).first()
    seq, prev = (tip[0], tip[1]) if tip else (0, GENESIS)
    rows = []
    for given in events:
        seq += 1
        row = SimpleNamespace(
            occurred_at=given.occurred_at.replace(tzinfo=None), actor_id=given.actor_id,
            actor_label=given.actor_label, on_behalf_of_id=given.on_behalf_of_id, action=given.action,
            object_type=given.object_type, object_id=str(given.object_id),
            data=json.loads(json.dumps(given.data or {}, default=str)), seq=seq, prev_hash=prev)
        row.hash = prev = hashlib.sha256(_canonical(row)).hexdigest()
        rows.append(vars(row))
    db.session.execute(_INSERT, rows)
    return len(rows)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad: int | None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first event whose hash or link is wrong."""
    prev = GENESIS
    checked = 0
    expected_seq = 1
    last_seq = 0
    while True:
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return ChainReport(ok=True, checked=checked, first_bad=None)
        for event in rows:
            if (event.seq != expected_seq or event.prev_hash != prev
                    or hashlib.sha256(_canonical(event)).hexdigest() != event.hash):
                return ChainReport(ok=False, checked=checked, first_bad=event.seq)
            prev = event.hash
            checked += 1
            expected_seq += 1
            last_seq = event.seq
