"""Reading the audit trail: the full verification (chain, checkpoints, anchor file), the
auditors' search and export."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from ..errors import NotFound
from ..extensions import db
from ..inputs import is_db_id
from ..org.models import Agency, Person
from .actions import ACTION_LABELS, checkpoint_message, configured_key, verify_chain
from .models import AuditCheckpoint, AuditEvent
from .tsa import token_imprint

__all__ = ["AUDIT_ROLES", "can_audit", "check_can_audit", "verify_trail", "TrailReport", "EventFilters",
           "search_events", "event_to_json", "case_trail"]

AUDIT_ROLES = frozenset({"auditor", "admin"})


def can_audit(roles) -> bool:
    """Auditors and administrators read and verify the trail."""
    return bool(AUDIT_ROLES & set(roles))


def check_can_audit(roles) -> None:
    """Raises :class:`NotFound` for anyone else (the workspace does not exist for them)."""
    if not can_audit(roles):
        raise NotFound()


@dataclass
class Problem:
    code: str
    seq: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "message": self.message}


@dataclass
class TrailReport:
    ok: bool
    checked: int
    first_bad: int | None
    checkpoints_ok: bool | None
    """None when there is no checkpoint to compare with."""
    last_checkpoint: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    first_bad_event: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad": self.first_bad,
                "checkpoints_ok": self.checkpoints_ok, "last_checkpoint": self.last_checkpoint,
                "problems": [p.to_json() for p in self.problems], "first_bad_event": self.first_bad_event}


def _read_anchor(path: str | None) -> tuple[list[dict[str, Any]], list[Problem]]:
    if not path:
        return [], []
    try:
        with open(path, encoding="utf-8") as anchor:
            lines = anchor.read().splitlines()
    except FileNotFoundError:
        return [], [Problem("anchor_missing", None, _("锚定文件不存在：%(path)s", path=path))]
    except OSError as exc:
        return [], [Problem("anchor_unreadable", None, _("锚定文件无法读取：%(reason)s", reason=exc.strerror))]
    entries, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entry["at"] = datetime.fromisoformat(entry["at"])
            entry["seq"], entry["hash"], entry["signature"], entry["algorithm"]  # noqa: B018
            entries.append(entry)
        except (ValueError, KeyError, TypeError):
            problems.append(Problem("anchor_malformed", None, _("锚定文件第 %(n)s 行无法解析。", n=number)))
    return entries, problems


def _checkpoint_json(row: Any) -> dict[str, Any]:
    return {"seq": row["seq"], "hash": row["hash"], "signed_at": row["at"].isoformat() + "Z",
            "algorithm": row["algorithm"], "key_id": row["key_id"], "timestamped": bool(row.get("timestamp_token"))}


def verify_trail() -> TrailReport:
    """Verify the chain, then every checkpoint (stored and in the anchor file): each signature
    under the audit key, each signed head still in the chain with the same hash (a truncated tail
    or a chain rewritten from scratch fails here), and the stored checkpoints and the anchor file
    agree (a checkpoint removed from either shows)."""
    stored = [{"seq": r.seq, "hash": r.hash, "at": r.signed_at, "algorithm": r.algorithm, "key_id": r.key_id,
               "signature": r.signature, "id": r.id, "timestamp_token": r.timestamp_token}
              for r in db.session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars()]
    anchored, problems = _read_anchor(current_app.config.get("AUDIT_ANCHOR_FILE"))
    chain = verify_chain(wanted={c["seq"] for c in stored + anchored})
    if not chain.ok:
        problems.insert(0, Problem("chain_broken", chain.first_bad,
                                   _("第 %(seq)s 条记录的哈希、链接或序号不符：它或它之前的记录被修改、删除、插入或调换过。",
                                     seq=chain.first_bad)))
    key = configured_key() if (stored or anchored) else None
    tip_seq = chain.tip[0] if chain.tip else 0
    if (stored or anchored) and key is None:
        problems.append(Problem("no_audit_key", None, _("未配置审计密钥，无法核对检查点签名。")))
    seen: set[tuple[int, str, str]] = set()
    for origin, entries in (("db", stored), ("anchor", anchored)):
        for c in entries:
            ident = (c["seq"], c["hash"], c["signature"])
            if ident in seen:
                continue
            seen.add(ident)
            if key is not None and not key.verify(c["algorithm"], checkpoint_message(c["seq"], c["hash"], c["at"]),
                                                  c["signature"]):
                problems.append(Problem("checkpoint_signature", c["seq"],
                                        _("第 %(seq)s 条处的检查点签名无效：检查点被伪造或篡改。", seq=c["seq"])))
                continue
            token = c.get("timestamp_token")
            if token and token_imprint(token) != hashlib.sha256(
                    checkpoint_message(c["seq"], c["hash"], c["at"])).digest():
                problems.append(Problem("timestamp_mismatch", c["seq"],
                                        _("第 %(seq)s 条处检查点的时间戳与检查点不符。", seq=c["seq"])))
            if chain.ok and c["seq"] > tip_seq:
                problems.append(Problem("truncated", c["seq"],
                                        _("检查点签署过第 %(seq)s 条记录，但日志只到第 %(tip)s 条：末尾的记录被删除。",
                                          seq=c["seq"], tip=tip_seq)))
            elif c["seq"] in chain.hashes and chain.hashes[c["seq"]] != c["hash"]:
                problems.append(Problem("rewritten", c["seq"],
                                        _("第 %(seq)s 条记录的哈希与已签名的检查点不同：日志被整体重写。", seq=c["seq"])))
    stored_ids = {(c["seq"], c["hash"], c["signature"]) for c in stored}
    anchored_ids = {(c["seq"], c["hash"], c["signature"]) for c in anchored}
    if current_app.config.get("AUDIT_ANCHOR_FILE"):
        for c in stored:
            if (c["seq"], c["hash"], c["signature"]) not in anchored_ids:
                problems.append(Problem("not_anchored", c["seq"],
                                        _("数据库中第 %(seq)s 条处的检查点不在锚定文件中。", seq=c["seq"])))
        for c in anchored:
            if (c["seq"], c["hash"], c["signature"]) not in stored_ids:
                problems.append(Problem("checkpoint_removed", c["seq"],
                                        _("锚定文件中第 %(seq)s 条处的检查点在数据库中已不存在。", seq=c["seq"])))
    checkpoint_problems = [p for p in problems if p.code != "chain_broken"]
    checkpoints_ok = None if not (stored or anchored) and not checkpoint_problems else not checkpoint_problems
    every = stored + [c for c in anchored if (c["seq"], c["hash"], c["signature"]) not in stored_ids]
    last = max(every, key=lambda c: (c["at"], c["seq"]), default=None)
    first_bad_event = None
    if chain.first_bad is not None:
        row = db.session.execute(select(AuditEvent).where(AuditEvent.seq == chain.first_bad)).scalar_one_or_none()
        first_bad_event = events_to_json([row])[0] if row is not None else None
    return TrailReport(ok=chain.ok and checkpoints_ok is not False, checked=chain.checked, first_bad=chain.first_bad,
                       checkpoints_ok=checkpoints_ok, last_checkpoint=_checkpoint_json(last) if last else None,
                       problems=problems, first_bad_event=first_bad_event)


# ---- search -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventFilters:
    """What the auditor searches by; each None means any."""

    person: str | None = None
    """A uid: events the person did or that were done on their behalf."""
    agency: int | None = None
    """Events by people of this agency."""
    matter: str | None = None
    """A matter type code: events on its cases."""
    case: str | None = None
    """A case number or id."""
    document: str | None = None
    action: str | None = None
    """An action, or a prefix ending in ``.`` (``cases.``)."""
    since: datetime | None = None
    until: datetime | None = None


def _case_keys(where) -> Any:
    from ..cases.models import Case

    return select(Case.number).where(where, Case.number.is_not(None)).union_all(
        select(func.cast(Case.id, AuditEvent.object_id.type)).where(where))


def _conditions(f: EventFilters) -> list[Any]:
    from ..cases.models import Case
    from ..matters.models import MatterType

    conds: list[Any] = []
    if f.person:
        person = db.session.execute(select(Person.id).where(Person.uid == f.person)).scalar_one_or_none()
        if person is None:
            conds.append(AuditEvent.id.is_(None))
        else:
            conds.append(or_(AuditEvent.actor_id == person, AuditEvent.on_behalf_of_id == person))
    if f.agency is not None:
        conds.append(AuditEvent.actor_id.in_(select(Person.id).where(Person.agency_id == f.agency)))
    if f.matter:
        matter_ids = select(MatterType.id).where(MatterType.code == f.matter)
        conds.append(and_(AuditEvent.object_type == "case",
                          AuditEvent.object_id.in_(_case_keys(Case.matter_type_id.in_(matter_ids)))))
    if f.case:
        keys = {f.case}
        named = Case.number == f.case
        found = db.session.execute(select(Case.id, Case.number).where(
            or_(named, Case.id == int(f.case)) if is_db_id(f.case) else named)).first()
        if found:
            keys |= {str(found.id)} | ({found.number} if found.number else set())
        conds.append(and_(AuditEvent.object_type == "case", AuditEvent.object_id.in_(sorted(keys))))
    if f.document:
        conds.append(and_(AuditEvent.object_type == "document", AuditEvent.object_id == f.document))
    if f.action:
        if f.action.endswith("."):
            conds.append(AuditEvent.action.startswith(f.action, autoescape=True))
        else:
            conds.append(AuditEvent.action == f.action)
    if f.since is not None:
        conds.append(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        conds.append(AuditEvent.occurred_at < f.until)
    return conds


def search_events(filters: EventFilters, *, limit: int, offset: int, newest_first: bool = True
                  ) -> tuple[list[AuditEvent], int]:
    """The matching events (newest first unless asked otherwise) and how many match."""
    conds = _conditions(filters)
    total = db.session.execute(select(func.count()).select_from(AuditEvent).where(*conds)).scalar_one()
    order = AuditEvent.seq.desc() if newest_first else AuditEvent.seq
    rows = db.session.execute(select(AuditEvent).where(*conds).order_by(order).limit(limit).offset(offset)
                              ).scalars().all()
    return list(rows), total


def iter_events(filters: EventFilters, batch: int = 2000):
    """Every matching event, oldest first, in batches (for exports)."""
    conds = _conditions(filters)
    last = 0
    while True:
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.seq > last, *conds)
                                  .order_by(AuditEvent.seq).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _people(ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.execute(select(Person).where(Person.id.in_(ids))).scalars()}


def events_to_json(rows: list[AuditEvent]) -> list[dict[str, Any]]:
    people = _people({i for r in rows for i in (r.actor_id, r.on_behalf_of_id) if i})
    agencies = {a.id: a.name for a in db.session.execute(
        select(Agency).where(Agency.id.in_({p.agency_id for p in people.values()}))).scalars()} if people else {}
    return [event_to_json(r, people, agencies) for r in rows]


def event_to_json(row: AuditEvent, people: dict[int, Person], agencies: dict[int, str]) -> dict[str, Any]:
    """``row`` as JSON, with the people and agency names :func:`events_to_json` read for its rows."""
    actor = people.get(row.actor_id) if row.actor_id else None
    behalf = people.get(row.on_behalf_of_id) if row.on_behalf_of_id else None
    data = row.data or {}
    return {
        "seq": row.seq, "at": row.occurred_at.isoformat() + "Z", "action": row.action,
        "action_label": str(ACTION_LABELS.get(row.action, row.action)),
        "actor": actor.uid if actor else None, "actor_name": actor.name if actor else row.actor_label,
        "actor_agency": agencies.get(actor.agency_id) if actor else None,
        "on_behalf_of": behalf.uid if behalf else None, "on_behalf_of_name": behalf.name if behalf else None,
        "object_type": row.object_type, "object_id": row.object_id,
        "before": data.get("before"), "after": data.get("after"), "data": data,
        "client_address": row.client_address, "hash": row.hash, "prev_hash": row.prev_hash,
    }


def case_trail(key: str) -> list[AuditEvent]:
    """Every event of the case numbered ``key`` (or with id ``key``), oldest first."""
    return list(iter_events(EventFilters(case=key)))
