"""The login throttle: wrong passwords counted per account and per client address over a sliding
window kept in the database (``login_failure``), so the limits hold across web processes and hosts.

Only wrong passwords count; a refused (throttled) attempt does not, so a window always ends. A
success clears the account's count but not the address's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from ..errors import DomainError
from ..extensions import db
from .models import LoginFailure

__all__ = ["LoginThrottled", "Refusal", "account_key", "address_key", "get_refusal", "note_failure",
           "clear_account", "KEEP"]

KEEP = timedelta(days=1)
"""Failures older than this are pruned (the audit log keeps every attempt)."""


class LoginThrottled(DomainError):
    """Too many wrong passwords for this account or from this address: try again later."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int):
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(_("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes),
                         details={"retry_after": retry_after})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Refusal:
    scope: str  # "account" or "address"
    retry_after: int  # seconds until the window lets an attempt through again


def account_key(username: str) -> str:
    """The account a login name counts against: case-insensitive, as the directory is."""
    return username.strip().casefold()[:100]


def address_key(address: str | None) -> str:
    return (address or "-")[:64]


def _window(config: Mapping[str, Any]) -> timedelta:
    return timedelta(minutes=int(config.get("LOGIN_THROTTLE_MINUTES") or 15))


def get_refusal(account: str, address: str, *, config: Mapping[str, Any], now: datetime) -> Refusal | None:
    """Whether an attempt now must be refused, and for how long: the account (address) is refused
    while its ``limit``-th latest failure is within the window. A limit of 0 turns a scope off.
    At most two indexed statements."""
    window = _window(config)
    since = now - window
    scopes = (
        ("account", int(config.get("LOGIN_THROTTLE_ACCOUNT", 5)),
         (LoginFailure.account == account, LoginFailure.account_cleared.is_(False))),
        ("address", int(config.get("LOGIN_THROTTLE_ADDRESS", 20)), (LoginFailure.address == address,)),
    )
    for scope, limit, where in scopes:
        if limit <= 0:
            continue
        at = db.session.execute(
            select(LoginFailure.at).where(*where, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1)).scalar_one_or_none()
        if at is not None:
            return Refusal(scope, max(1, math.ceil((at + window - now).total_seconds())))
    return None


def note_failure(account: str, address: str, *, now: datetime) -> None:
    """Count a wrong password (the caller audits and commits); failures past :data:`KEEP` go."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))
    db.session.add(LoginFailure(at=now, account=account, address=address, account_cleared=False))


def clear_account(account: str, *, config: Mapping[str, Any], now: datetime) -> None:
    """A successful login: the account's failures in the window stop counting against it."""
    db.session.execute(
        update(LoginFailure).where(LoginFailure.account == account, LoginFailure.account_cleared.is_(False),
                                   LoginFailure.at > now - _window(config))
        .values(account_cleared=True))
