"""The outbox (one row per recipient and channel) and each person's notification preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..org.models import Person

__all__ = ["CHANNELS", "OUTBOX_STATUSES", "OutboxMessage", "NotifyPreference"]

CHANNELS = ("inapp", "mail", "chat")
OUTBOX_STATUSES = ("pending", "sent", "dead")
"""``pending`` waits for delivery (in-app rows are ``sent`` when written: the list is the channel);
``dead`` gave up after the maximum number of attempts."""


class OutboxMessage(db.Model):
    """One notification to one person on one channel. ``dedupe_key`` + recipient + channel is
    unique, so the same event notified twice adds nothing. A deliverer claims a row by writing
    ``claimed_by``/``claimed_until`` and commits before sending; sending and marking ``sent`` is
    the only window in which a death of the process leaves the outcome unknown (see
    :mod:`internal_affairs.notify.delivery`)."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "recipient_id", "channel", name="uq_outbox_dedupe"),
        Index("ix_outbox_due", "status", "next_attempt_at", "id"),
        Index("ix_outbox_recipient", "recipient_id", "channel", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    kind: Mapped[str] = mapped_column(String(80), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    link: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str] = mapped_column(String(200), nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    recipient: Mapped[Person] = relationship()


class NotifyPreference(db.Model):
    """What channels a person keeps on and their quiet hours (minutes after local midnight,
    Asia/Shanghai; ``quiet_start`` > ``quiet_end`` spans midnight). No row means the defaults:
    mail and chat on, quiet from 22:00 to 07:00."""

    __tablename__ = "notify_preference"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    mail: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    chat: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
