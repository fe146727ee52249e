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

__all__ = ["record_event", "verify_chain", "ChainReport", "GENESIS"]

GENESIS = "0" * 64


def _canonical(event: Any) -> bytes:
    """The bytes an event's hash covers; ``event`` is an :class:`AuditEvent` or a namespace with
    the same attributes."""
    payload = {
        "seq": event.seq,
        "at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "on_behalf_of": event.on_behalf_of_id,
        "action": event.action,
        "object": [event.object_type, event.object_id],
        "data": event.data,
        "prev": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()


CHAIN_LOCK_KEY = 424242
"""The advisory lock that serialises appenders on PostgreSQL (migration 0006 uses it too)."""
_TIP_LOCKED = text("SELECT tip_seq, tip_hash FROM ia_audit_chain_tip()")
_TIP = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_INSERT = insert(AuditEvent.__table__)  # Core: no ORM bulk-insert machinery for one row


def _chain_tip() -> tuple[int, str] | None:
    """The last event's sequence number and hash, with the chain locked until the transaction
    ends: on PostgreSQL the advisory lock and the read in one round trip (migration 0006); SQLite
    serialises writers itself."""
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_TIP_LOCKED).first()
        return None if row is None or row[0] is None else (row[0], row[1])
    row = db.session.execute(_TIP).first()
    return None if row is None else (row[0], row[1])


def record_event(action: str, *, actor: Any | None, object_type: str, object_id: Any,
                 data: dict[str, Any] | None = None, now: datetime,
                 on_behalf_of: Any | None = None) -> str:
    """Append one event to the chain in the current transaction (the caller commits); returns
    its hash.

    The caller's pending changes are written first, so the chain's lock is held only for the
    append itself and the commit."""
    db.session.flush()
    tip = _chain_tip()
    seq, prev = (tip[0] + 1, tip[1]) if tip else (1, GENESIS)
    event = SimpleNamespace(
        seq=seq,
        occurred_at=now.replace(tzinfo=None),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "uid", None) or "system",
        on_behalf_of_id=getattr(on_behalf_of, "id", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=json.loads(json.dumps(data or {}, default=str)),
        prev_hash=prev,
    )
    event.hash = hashlib.sha256(_canonical(event)).hexdigest()
    db.session.execute(_INSERT, vars(event))
    return event.hash


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
