"""Appending to and verifying the audit hash chain.

Every write action calls :func:`record_event` inside its own transaction, so the event commits
or rolls back with the change it describes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Text, bindparam, cast, select, text

from ..atomic import atomic
from ..extensions import db
from .models import AuditEvent

__all__ = ["record_event", "record_events", "Event", "verify_chain", "ChainReport", "GENESIS", "ACTION_LABELS",
           "client_address", "row_canonical", "do_checkpoint", "checkpoint_message", "anchor_line", "configured_key"]

GENESIS = "0" * 64

ACTION_LABELS = {
    "auth.login": _l("登录"), "auth.login.failed": _l("登录失败"), "auth.login.throttled": _l("登录被限制"),
    "auth.logout": _l("退出登录"), "auth.session.started": _l("开始会话"),
    "auth.sessions.revoked_all": _l("全部设备退出"), "auth.token.issued": _l("签发令牌"),
    "auth.token.revoked": _l("吊销令牌"), "auth.local_password.set": _l("设置本地密码"),
    "calendar.override.set": _l("调整工作日历"), "calendar.override.removed": _l("恢复官方日历"),
    "cases.attachment.uploaded": _l("上传材料"), "cases.attachment.withdrawn": _l("撤回材料"),
    "cases.case.created": _l("创建申请"), "cases.case.submitted": _l("提交申请"),
    "cases.case.draft_updated": _l("修改草稿"), "cases.case.resubmitted": _l("重新提交"),
    "cases.case.withdrawn": _l("撤回申请"), "cases.case.approved": _l("审批通过"),
    "cases.case.completed": _l("办结"), "cases.case.cc": _l("抄送"), "cases.case.reminded": _l("催办"),
    "cases.case.plan_changed": _l("审批路径变更"), "cases.step.auto_approved": _l("自动通过"),
    "cases.task.decided": _l("审批决定"), "cases.task.transferred": _l("转办"), "cases.task.consulted": _l("征求意见"),
    "cases.task.approver_added": _l("加签"), "cases.task.approver_removed": _l("减签"),
    "cases.task.decision_withdrawn": _l("撤回决定"),
    "delegation.created": _l("设置代理"), "delegation.proposed": _l("提议代理"),
    "delegation.confirmed": _l("确认代理"), "delegation.revoked": _l("撤销代理"),
    "matters.version.loaded": _l("加载事项版本"), "org.person.default_deputy_set": _l("设置默认代理人"),
    "org.sync.planned": _l("目录同步预览"), "org.sync.applied": _l("目录同步"), "org.sync.refused": _l("目录同步被拒绝"),
    "org.sync.failed": _l("目录同步失败"), "audit.checkpoint": _l("审计检查点"), "audit.exported": _l("导出审计记录"),
}
"""How the workspace names each action (an action missing here shows as its code)."""


def _payload(event: Any) -> dict[str, Any]:
    """What an event's hash covers but its place in the chain (``prev`` and ``seq``). The client
    address is covered when the event has one (events from before it was recorded keep their
    hashes)."""
    payload = {
        "at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "on_behalf_of": event.on_behalf_of_id,
        "action": event.action,
        "object": [event.object_type, event.object_id],
        "data": event.data,
    }
    client = getattr(event, "client_address", None)
    if client is not None:
        payload["client"] = client
    return payload


def client_address() -> str | None:
    """The address of the request being served (behind ``IA_PROXY_FIX`` proxies, the client's),
    None outside a request (CLI, scheduler)."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    return (request.remote_addr or None) and request.remote_addr[:64]


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
               ":on_behalf_of_id, :action, :object_type, :object_id, CAST(:data AS json), "
               "CAST(:client_address AS varchar))")
_TIP = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_COLUMNS = ("seq", "occurred_at", "actor_id", "actor_label", "on_behalf_of_id", "action", "object_type", "object_id",
            "data", "client_address", "prev_hash", "hash")
_INSERT = {dialect: text(f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ("
                         + ", ".join(f"CAST(:{c} AS json)" if c == "data" and dialect == "postgresql" else f":{c}"
                                     for c in _COLUMNS) + ")").bindparams(bindparam("occurred_at", type_=DateTime()))
           for dialect in ("postgresql", "sqlite")}
"""The insert of Python-hashed events, their ``data`` stored as its canonical JSON text (what the
hash covers, so verification need not parse and re-serialise it)."""


def _insert(rows: list[dict[str, Any]]) -> None:
    dialect = db.session.get_bind().dialect.name
    db.session.execute(_INSERT[dialect], [r | {"data": _dumps(r["data"])} for r in rows])


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
    normalized = json.loads(json.dumps(data or {}, default=str))
    encoded = _dumps(normalized)  # stored as is: the canonical text the hash covers
    event = SimpleNamespace(
        occurred_at=now.replace(tzinfo=None),
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "uid", None) or "system",
        on_behalf_of_id=getattr(on_behalf_of, "id", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=normalized,
        client_address=client_address(),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_APPEND, vars(event) | {"head": _canonical_head(event), "data": encoded}).one()
        return row.new_hash
    tip = db.session.execute(_TIP).first()
    event.seq, event.prev_hash = (tip[0] + 1, tip[1]) if tip else (1, GENESIS)
    event.hash = hashlib.sha256(_canonical(event)).hexdigest()
    _insert([{c: getattr(event, c) for c in _COLUMNS}])
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
    client_address: str | None = None


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
            data=json.loads(json.dumps(given.data or {}, default=str)), client_address=given.client_address,
            seq=seq, prev_hash=prev)
        row.hash = prev = hashlib.sha256(_canonical(row)).hexdigest()
        rows.append(vars(row))
    _insert(rows)
    return len(rows)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad: int | None
    tip: tuple[int, str] | None = None
    """The last verified event's (seq, hash)."""
    hashes: dict[int, str] = field(default_factory=dict)
    """The verified hashes of the sequence numbers :func:`verify_chain` was asked for."""


_CHAIN_COLUMNS = (AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor_id, AuditEvent.actor_label,
                  AuditEvent.on_behalf_of_id, AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id,
                  AuditEvent.data, AuditEvent.client_address, AuditEvent.prev_hash, AuditEvent.hash)


def row_canonical(row: Any) -> bytes:
    """:func:`_canonical` of a row of :data:`_CHAIN_COLUMNS` (with ``data`` parsed)."""
    payload = {"at": row[1].isoformat(timespec="microseconds"), "actor": row[2], "actor_label": row[3],
               "on_behalf_of": row[4], "action": row[5], "object": [row[6], row[7]], "data": row[8],
               "seq": row[0], "prev": row[10]}
    if row[9] is not None:
        payload["client"] = row[9]
    return _dumps(payload).encode()


def _row_canonical_stored(row: Any) -> bytes:
    """:func:`row_canonical` with ``data`` as the stored JSON text, spliced in unparsed: equal to
    it when the stored text is canonical (as every append writes it). A row whose text is not
    (older rows, or altered) hashes differently here and is checked by :func:`row_canonical`."""
    payload = {"at": row[1].isoformat(timespec="microseconds"), "actor": row[2], "actor_label": row[3],
               "on_behalf_of": row[4], "action": row[5], "object": [row[6], row[7]], "data": 0,
               "seq": row[0], "prev": row[10]}
    if row[9] is not None:
        payload["client"] = row[9]
    head, _sep, tail = _dumps(payload).partition('"data":0,')
    return f'{head}"data":{row[8]},{tail}'.encode()


_STORED_COLUMNS = tuple(cast(c, Text) if c.key == "data" else c for c in _CHAIN_COLUMNS)


def verify_chain(batch: int = 20000, *, wanted: set[int] | frozenset[int] = frozenset()) -> ChainReport:
    """Recompute every hash in order; report the first event whose hash, link or place is wrong
    (a deleted, inserted or reordered event breaks the link or the numbering at its place).
    The verified hashes of the sequence numbers in ``wanted`` come back in ``hashes`` (for the
    checkpoints)."""
    prev = GENESIS
    checked = 0
    last_seq = 0
    sha256 = hashlib.sha256
    found: dict[int, str] = {}
    while True:
        rows = db.session.execute(
            select(*_STORED_COLUMNS).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)).all()
        if not rows:
            return ChainReport(ok=True, checked=checked, first_bad=None, tip=(last_seq, prev) if checked else None,
                               hashes=found)
        for row in rows:
            if row[0] != last_seq + 1 or row[10] != prev or (
                    sha256(_row_canonical_stored(row)).hexdigest() != row[11]
                    and sha256(row_canonical(_parsed(row))).hexdigest() != row[11]):
                return ChainReport(ok=False, checked=checked, first_bad=row[0],
                                   tip=(last_seq, prev) if checked else None, hashes=found)
            prev = row[11]
            last_seq = row[0]
            checked += 1
            if row[0] in wanted:
                found[row[0]] = prev


def _parsed(row: Any) -> tuple:
    try:
        data = json.loads(row[8]) if row[8] is not None else None
    except ValueError:
        data = row[8]
    return (*row[:8], data, *row[9:])


# ---- checkpoints ------------------------------------------------------------------------------

def checkpoint_message(seq: int, hash_: str, signed_at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers: the chain head and the signing time."""
    return _dumps({"seq": seq, "hash": hash_, "at": signed_at.replace(tzinfo=None).isoformat(timespec="microseconds")
                   }).encode()


def configured_key():
    """The audit key of ``IA_AUDIT_KEY_FILE`` or of the ``IA_AUDIT_PKCS11_*`` token (None when
    neither is configured; the configuration allows one source only). Raises
    :class:`~internal_affairs.errors.Conflict` when the file or token cannot be used."""
    from flask import current_app

    from .keys import AuditKeyError, TokenKey, load_audit_key, load_token_audit_key

    config = current_app.config
    try:
        if config.get("AUDIT_PKCS11_MODULE"):
            return load_token_audit_key(TokenKey(config["AUDIT_PKCS11_MODULE"], config["AUDIT_PKCS11_TOKEN"],
                                                 config.get("AUDIT_PKCS11_PIN"), config["AUDIT_PKCS11_KEY"]))
        return load_audit_key(config.get("AUDIT_KEY_FILE"), config.get("AUDIT_KEY_PASSWORD"))
    except AuditKeyError as exc:
        raise _unusable_key(exc) from None


def _unusable_key(exc: Exception):
    from flask_babel import gettext as _

    from ..errors import Conflict

    return Conflict(_("审计密钥无法使用：%(reason)s", reason=str(exc)), code="audit_key_unusable")


def _sign_checkpoint(key: Any, message: bytes) -> str:
    from .keys import AuditKeyError

    try:
        return key.sign(message)
    except AuditKeyError as exc:
        raise _unusable_key(exc) from None


def anchor_line(row: Any) -> str:
    """The checkpoint ``row`` as one JSON line of the anchor file."""
    line = {"seq": row.seq, "hash": row.hash, "at": row.signed_at.isoformat(timespec="microseconds"),
            "algorithm": row.algorithm, "key_id": row.key_id, "signature": row.signature}
    if row.timestamp_token:
        line["timestamp_token"] = row.timestamp_token
    return _dumps(line)


def _tell_auditors(row: Any, *, now: datetime) -> None:
    """Send the checkpoint to the auditors' channel — every auditor's notifications (in-app, and
    mail or chat as each chose), in the checkpoint's transaction: a copy of the signed head held
    outside the platform's database, in the people's own mailboxes."""
    from ..notify.actions import notify
    from ..org.queries import get_auditors

    auditors = get_auditors()
    if auditors:
        notify(auditors, kind="audit.checkpoint", subject=f"审计检查点：第 {row.seq} 条",
               body=f"审计日志已签名至第 {row.seq} 条事件。\n{anchor_line(row)}", link="/audit/verify",
               dedupe_key=f"audit.checkpoint:{row.id}", now=now)


@atomic
def do_checkpoint(*, acting_user: Any | None, now: datetime, roles: Any = None):
    """Sign the chain's head (seq, hash, time) with the audit key, store the checkpoint, append it
    to ``IA_AUDIT_ANCHOR_FILE`` and audit it; returns the :class:`AuditCheckpoint`. A person
    (``acting_user`` with their ``roles``) must be an auditor or administrator; None is the
    scheduler or the CLI.

    The head is read under the chain's lock, so the signed head is the last event committed
    before this checkpoint's own event. Raises :class:`~internal_affairs.errors.Conflict` (no audit
    key configured, the key or the anchor file unusable, or the chain still empty)."""
    from flask import current_app
    from flask_babel import gettext as _

    from ..errors import Conflict
    from .models import AuditCheckpoint
    from .queries import check_can_audit

    if acting_user is not None:
        check_can_audit(roles or ())
    key = configured_key()
    if key is None:
        raise Conflict(_("未配置审计密钥（IA_AUDIT_KEY_FILE 或 IA_AUDIT_PKCS11_*），无法生成检查点。"), code="no_audit_key")
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_LOCK)
    tip = db.session.execute(_TIP).first()
    if tip is None:
        raise Conflict(_("审计日志还没有任何记录，无需检查点。"), code="empty_chain")
    signed_at = now.replace(tzinfo=None)
    signature = _sign_checkpoint(key, checkpoint_message(tip[0], tip[1], signed_at))
    row = AuditCheckpoint(seq=tip[0], hash=tip[1], signed_at=signed_at, algorithm=key.algorithm,
                          key_id=key.key_id, signature=signature, created_by_id=getattr(acting_user, "id", None))
    tsa = current_app.config.get("TSA_URL")
    if tsa:
        from .tsa import TimestampError, request_timestamp

        try:
            row.timestamp_token = request_timestamp(tsa, checkpoint_message(row.seq, row.hash, signed_at))
        except TimestampError as exc:
            raise Conflict(_("时间戳服务失败，检查点未生成：%(reason)s", reason=str(exc)), code="tsa_failed") from None
    db.session.add(row)
    db.session.flush()
    record_event("audit.checkpoint", actor=acting_user, object_type="audit_checkpoint", object_id=row.id,
                 data={"seq": row.seq, "hash": row.hash, "key_id": row.key_id,
                       "timestamped": row.timestamp_token is not None}, now=now)
    _tell_auditors(row, now=now)
    anchor = current_app.config.get("AUDIT_ANCHOR_FILE")
    if anchor:
        try:
            with open(anchor, "a", encoding="utf-8") as out:
                out.write(anchor_line(row) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise Conflict(_("无法写入审计锚定文件：%(reason)s", reason=exc.strerror), code="anchor_unwritable") from None
    db.session.commit()
    return row
