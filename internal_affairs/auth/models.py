"""Bearer tokens, browser sessions and failed logins. Only hashes of tokens and session keys are
stored, so a copy of the database opens no account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..org.models import Person

__all__ = ["ApiToken", "LoginSession", "LoginFailure"]


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship()


class LoginSession(db.Model):
    """A browser session: the signed session cookie carries a random key whose hash is this row's
    ``key_hash``; the row, not the cookie, decides whether the session is alive."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(30))

    person: Mapped[Person] = relationship()


class LoginFailure(db.Model):
    """One wrong password, kept for the login throttle's sliding window (the audit log keeps the
    lasting record). ``account_cleared`` is set when the account then logs in: the account's
    counter starts again, the client address's does not."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_account_at", "account", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    account_cleared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
