"""Delivering the outbox: claim due rows, send each, mark it sent, retry failures with backoff.

What it guarantees. A row is claimed (``claimed_by``, ``claimed_until``) and the claim committed
before anything is sent; after each message its outcome is committed on its own. So a process
killed at any moment loses nothing: its claimed rows stay ``pending`` and are taken again once
the claim expires or a new scheduler holding the lease releases the claims of the dead one
(:func:`release_claims`). It repeats nothing except, at most, the one message per crash that the
server had accepted when the process died before committing ``sent`` — a window of one network
answer and one commit. Such a mail is resent with the same Message-ID (mail stores drop the
duplicate); a chat push is resent as is. Two more cases can repeat a message: a PostgreSQL
server crash losing the last fraction of a second of ``sent`` marks (they are committed without
waiting for the WAL flush, see ``_Outcomes``), and a scheduler paused longer than its lease minus
a margin in the middle of one send (it checks its lease before each message, not during one). A
failing channel never touches the transaction that enqueued: delivery runs later, in the
scheduler, in transactions of its own, and a message whose channel fails is retried alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import or_, select, update

from ..extensions import db
from ..org.models import Person
from .channels import ChannelError, Letter, MailSender, absolute_link, post_webhook
from .models import OutboxMessage
from .rules import backoff

__all__ = ["DeliveryReport", "deliver_due", "release_claims", "DEFAULT_CLAIM"]

DEFAULT_CLAIM = timedelta(minutes=5)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(holder: str, now: datetime, batch: int, claim: timedelta) -> list[int]:
    """Claim up to ``batch`` due rows for ``holder`` and commit. PostgreSQL skips rows another
    transaction has locked (FOR UPDATE SKIP LOCKED); SQLite's write lock, taken at BEGIN,
    serialises claimers."""
    query = (select(OutboxMessage.id)
             .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(batch))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.execute(query).scalars())
    if ids:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                           .values(claimed_by=holder, claimed_until=now + claim))
    db.session.commit()
    return ids


def release_claims(holder: str) -> int:
    """Free the pending rows claimed by any holder other than ``holder`` (a scheduler that died
    or lost the lease) and commit; returns how many. Call it only while holding the lease."""
    result = db.session.execute(update(OutboxMessage)
                                .where(OutboxMessage.status == "pending", OutboxMessage.claimed_by.is_not(None),
                                       OutboxMessage.claimed_by != holder)
                                .values(claimed_by=None, claimed_until=None))
    db.session.commit()
    return result.rowcount or 0


def _letters(ids: list[int], base_url: str) -> list[tuple[str, int, Letter]]:
    """(channel, attempts so far, the letter) of each claimed row, as plain values."""
    m = OutboxMessage
    rows = db.session.execute(select(m.id, m.channel, m.attempts, m.dedupe_key, m.subject, m.body, m.link,
                                     Person.mail, Person.name)
                              .join(Person, Person.id == m.recipient_id)
                              .where(m.id.in_(ids)).order_by(m.id)).all()
    return [(r.channel, r.attempts, Letter(outbox_id=r.id, dedupe_key=r.dedupe_key, to_address=r.mail,
                                           to_name=r.name, subject=r.subject, body=r.body,
                                           link=absolute_link(base_url, r.link)))
            for r in rows]


class _Outcomes:
    """Writes each row's outcome in a transaction of its own. On PostgreSQL: one autocommitted
    UPDATE on a connection of its own whose commits do not wait for the WAL flush — a killed
    scheduler loses nothing by it (the server has the commit); only a crash of the database
    server itself could forget the last fraction of a second of ``sent`` marks, whose messages
    would then be sent again. On SQLite: the session, one short write transaction per row."""

    def __init__(self) -> None:
        self.conn = None
        if db.session.get_bind().dialect.name == "postgresql":
            self.conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.conn.exec_driver_sql("SET synchronous_commit TO OFF")

    def finish(self, row_id: int, holder: str, values: dict[str, Any]) -> bool:
        """Record one row's outcome if the claim is still ours."""
        statement = (update(OutboxMessage)
                     .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == holder,
                            OutboxMessage.status == "pending")
                     .values(claimed_by=None, claimed_until=None, **values))
        if self.conn is not None:
            return bool(self.conn.execute(statement).rowcount)
        result = db.session.execute(statement)
        db.session.commit()
        return bool(result.rowcount)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.exec_driver_sql("RESET synchronous_commit")
            self.conn.close()


def deliver_due(*, config: Mapping[str, Any], holder: str, now: datetime | Callable[[], datetime],
                batch: int = 50, max_batches: int | None = None, claim: timedelta = DEFAULT_CLAIM,
                still_holding: Callable[[], bool] | None = None,
                may_send: Callable[[], bool] | None = None) -> DeliveryReport:
    """Deliver the due pending rows in batches until none is left (or ``max_batches``).

    ``now`` is an instant or a clock (the scheduler passes its clock so long runs stay on time);
    ``still_holding`` is asked before each batch and stops delivery when the lease is lost;
    ``may_send`` (cheap, no database) before each message, and stops delivery when it says no —
    the rest of the batch stays claimed until a successor frees it or the claim expires."""
    clock = now if callable(now) else (lambda: now)
    report = DeliveryReport()
    base_url = config.get("BASE_URL") or "http://127.0.0.1:5000"
    max_attempts = int(config.get("NOTIFY_MAX_ATTEMPTS") or 8)
    mailer = MailSender(config["SMTP_URL"], config.get("MAIL_FROM") or "noreply@localhost") if config.get("SMTP_URL") else None
    webhook = config.get("WEBHOOK_URL")
    batches = 0
    outcomes = _Outcomes()
    _finish = outcomes.finish
    try:
        while max_batches is None or batches < max_batches:
            if still_holding is not None and not still_holding():
                break
            ids = _claim(holder, clock(), batch, claim)
            if not ids:
                break
            batches += 1
            letters = _letters(ids, base_url)
            db.session.commit()  # end the read: sending happens outside any transaction
            for channel, attempts, letter in letters:
                if may_send is not None and not may_send():
                    return report
                attempts += 1
                try:
                    if channel == "mail":
                        if mailer is None:
                            raise ChannelError("IA_SMTP_URL is not set")
                        mailer.send(letter)
                    elif channel == "chat":
                        if not webhook:
                            raise ChannelError("IA_WEBHOOK_URL is not set")
                        post_webhook(webhook, letter)
                    else:
                        raise ChannelError(f"unknown channel {channel!r}")
                except Exception as exc:  # noqa: BLE001 - whatever a channel raises fails this message alone
                    at = clock()
                    if attempts >= max_attempts:
                        _finish(letter.outbox_id, holder, {"status": "dead", "attempts": attempts,
                                                            "last_error": str(exc)[:2000]})
                        report.dead += 1
                    else:
                        _finish(letter.outbox_id, holder, {"attempts": attempts, "last_error": str(exc)[:2000],
                                                            "next_attempt_at": at + backoff(attempts)})
                        report.failed += 1
                    report.errors.append(str(exc)[:200])
                    continue
                if _finish(letter.outbox_id, holder, {"status": "sent", "attempts": attempts, "sent_at": clock(),
                                                      "last_error": None}):
                    report.sent += 1
                else:
                    report.skipped += 1
    finally:
        if mailer is not None:
            mailer.close()
        outcomes.close()
        db.session.rollback()
    return report
