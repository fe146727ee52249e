"""Login by directory bind (or a local password in the demo), browser sessions and API tokens.

A browser session is a row of ``login_session``: the signed session cookie carries only a random
key (whose hash the row keeps), so logout, deactivation and "log out everywhere" end a session at
once. Bearer tokens are rows of ``api_token`` in the same way. Either is checked by one indexed
statement that also loads the person.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import datetime, timedelta
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import DateTime, bindparam, select, update
from sqlalchemy.exc import OperationalError
from werkzeug.security import check_password_hash, generate_password_hash

from org_sync.model import SyncSourceError

from ..atomic import atomic, commit_keeping_state
from ..audit.actions import record_event
from ..errors import AuthenticationFailed, NotFound, PermissionDenied, ServiceUnavailable, ValidationError
from ..extensions import db
from ..sqlite import is_busy_error, write_intent
from ..org.directory import directory_configured, ldap_settings
from ..org.models import Person
from . import throttle
from .models import ApiToken, LoginSession

__all__ = ["authenticate", "do_issue_token", "get_token_person", "do_set_local_password", "hash_token",
           "do_start_session", "get_session_person", "do_end_session", "do_revoke_presented_token",
           "do_revoke_token", "do_log_out_everywhere", "can_log_out_everywhere", "revoke_credentials",
           "SESSION_TOUCH"]

MAX_LOGIN = 100
MAX_PASSWORD = 512


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_credentials_shape(username: Any, password: Any) -> tuple[str, str]:
    if not isinstance(username, str) or not isinstance(password, str):
        raise ValidationError(_("请输入用户名和密码。"), fields={"username": _("必填"), "password": _("必填")})
    username = username.strip()
    if not username or not password:
        raise AuthenticationFailed()
    if len(username) > MAX_LOGIN or len(password) > MAX_PASSWORD:
        raise AuthenticationFailed()
    return username, password


def authenticate(username: Any, password: Any, *, config: Mapping[str, Any], now: datetime,
                 address: str | None = None) -> Person:
    """The active person whose directory (or demo local) password this is.

    The directory is asked first: the login is looked up by escaped filter and the password
    checked by binding as that DN. ``address`` is the client's (``request.remote_addr``): wrong
    passwords are counted per account and per address, and past the throttle's limits an attempt
    is refused before any password is checked (and audited). A success clears the account's count.

    A success is left pending in the session (its audit event and the reset of the account's
    count): the action that gives the person a token or a session commits it with what it
    creates, so a failure there leaves nothing of the login behind. A refusal commits its record.

    Raises :class:`AuthenticationFailed` (also for deactivated people, without saying so),
    :class:`~.throttle.LoginThrottled` (429) and :class:`ServiceUnavailable` when the directory is
    down and no local password applies.
    """
    username, password = _check_credentials_shape(username, password)
    account, address = throttle.account_key(username), throttle.address_key(address)
    refusal = throttle.get_refusal(account, address, config=config, now=now)
    if refusal is not None:
        record_event("auth.login.throttled", actor=None, object_type="login", object_id=username[:100],
                     data={"address": address, "scope": refusal.scope, "retry_after": refusal.retry_after},
                     now=now)
        db.session.commit()
        raise throttle.LoginThrottled(refusal.retry_after)
    person = db.session.execute(select(Person).where(Person.uid == username)).scalar_one_or_none()
    directory_error: Exception | None = None
    verified = False
    if directory_configured(config):
        from org_sync import ldap_reader

        settings = ldap_settings(config)
        try:
            dn = ldap_reader.find_user_dn(settings, username)
            verified = bool(dn) and ldap_reader.check_password(settings, dn, password)
        except SyncSourceError as exc:
            directory_error = exc
    if not verified and config.get("LOCAL_LOGIN") and person is not None and person.local_password_hash:
        verified = check_password_hash(person.local_password_hash, password)
    if not verified:
        if directory_error is not None and not config.get("LOCAL_LOGIN"):
            raise ServiceUnavailable(_("目录服务暂不可用，请稍后再试。"))
        throttle.note_failure(account, address, now=now)
        record_event("auth.login.failed", actor=None, object_type="login", object_id=username[:100],
                     data={"address": address}, now=now)
        db.session.commit()
        raise AuthenticationFailed()
    if person is None or not person.active:
        throttle.note_failure(account, address, now=now)
        record_event("auth.login.failed", actor=None, object_type="login", object_id=username[:100],
                     data={"reason": "unknown_or_inactive", "address": address}, now=now)
        db.session.commit()
        raise AuthenticationFailed()
    throttle.clear_account(account, config=config, now=now)
    record_event("auth.login", actor=person, object_type="person", object_id=person.uid,
                 data={"address": address}, now=now)
    return person


@atomic
def do_issue_token(person: Person, *, hours: int, now: datetime) -> tuple[str, datetime]:
    """A new bearer token for ``person``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    db.session.add(ApiToken(token_hash=hash_token(token), person_id=person.id, created_at=now, expires_at=expires))
    record_event("auth.token.issued", actor=person, object_type="person", object_id=person.uid,
                 data={"expires_at": expires.isoformat()}, now=now)
    db.session.commit()
    return token, expires


_TOKEN_PERSON = (select(Person).join(ApiToken, ApiToken.person_id == Person.id)
                 .where(ApiToken.token_hash == bindparam("hash"), ApiToken.revoked_at.is_(None),
                        ApiToken.expires_at > bindparam("now", type_=DateTime), Person.active.is_(True)))
"""Built once: every API request runs it."""


def get_token_person(token: str, *, now: datetime) -> Person | None:
    """The active person a valid, unexpired, unrevoked token belongs to, else None (one statement)."""
    if not token or len(token) > 200:
        return None
    return db.session.execute(_TOKEN_PERSON, {"hash": hash_token(token), "now": now}).scalar_one_or_none()


@atomic
def do_revoke_presented_token(token: str, *, now: datetime) -> None:
    """Revoke the bearer token a client presents (its own logout). Raises :class:`AuthenticationFailed`
    when it is not a live token."""
    row = None
    if token and len(token) <= 200:
        row = db.session.execute(
            select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None),
                                   ApiToken.expires_at > now)).scalar_one_or_none()
    if row is None:
        raise AuthenticationFailed(_("令牌无效或已过期，请重新获取。"), code="invalid_token")
    row.revoked_at = now
    record_event("auth.token.revoked", actor=row.person, object_type="api_token", object_id=row.id,
                 data={"how": "presented"}, now=now)
    db.session.commit()


@atomic
def do_revoke_token(token_id: int, *, acting_user: Person, roles: AbstractSet[str], now: datetime) -> ApiToken:
    """Revoke one of ``acting_user``'s tokens by its id (administrators: anyone's). Revoking a dead
    token changes nothing. Raises :class:`NotFound` for a token the acting user may not see."""
    row = db.session.get(ApiToken, token_id) if isinstance(token_id, int) and 0 < token_id < 2**63 else None
    if row is None or (row.person_id != acting_user.id and "admin" not in roles):
        raise NotFound()
    if row.revoked_at is not None or row.expires_at <= now:
        return row
    row.revoked_at = now
    record_event("auth.token.revoked", actor=acting_user, object_type="api_token", object_id=row.id,
                 data={"how": "by_id", "person": row.person.uid}, now=now)
    db.session.commit()
    return row


SESSION_TOUCH = timedelta(minutes=5)
"""How stale a session's ``last_seen_at`` may get before a request writes it again: a session's
requests cost no write but once in this long."""

_SESSION_PERSON = (select(Person, LoginSession.id, LoginSession.last_seen_at)
                   .join(LoginSession, LoginSession.person_id == Person.id)
                   .where(LoginSession.key_hash == bindparam("hash"), LoginSession.revoked_at.is_(None),
                          LoginSession.last_seen_at > bindparam("idle_since", type_=DateTime),
                          Person.active.is_(True)))
"""Built once: every page request runs it."""


@atomic
def do_start_session(person: Person, *, user_agent: str | None, address: str | None, now: datetime,
                     replacing: Any = None) -> str:
    """A new browser session for ``person`` (ending the session with key ``replacing``, the one
    the browser had, in the same transaction); returns the key the session cookie carries (only
    its hash is stored)."""
    _end_session(replacing, now=now, reason="replaced")
    key = secrets.token_urlsafe(32)
    row = LoginSession(key_hash=hash_token(key), person_id=person.id, created_at=now, last_seen_at=now,
                       user_agent=(user_agent or "")[:300] or None, address=throttle.address_key(address))
    db.session.add(row)
    db.session.flush()
    record_event("auth.session.started", actor=person, object_type="login_session", object_id=row.id,
                 data={"address": row.address}, now=now)
    db.session.commit()
    return key


def get_session_person(key: Any, *, now: datetime, idle: timedelta) -> Person | None:
    """The active person of a live session (not revoked, used within ``idle``), else None.

    One statement; once every :data:`SESSION_TOUCH` it is followed by the write of the session's
    ``last_seen_at`` (committed at once: it runs before the request's own work, when the person
    is first asked for)."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    row = db.session.execute(_SESSION_PERSON, {"hash": hash_token(key), "idle_since": now - idle}).one_or_none()
    if row is None:
        return None
    person, session_id, last_seen = row
    if last_seen <= now - SESSION_TOUCH:
        _touch_session(session_id, now)
    return person


def _touch_session(session_id: int, now: datetime) -> None:
    """Stamp a session's last use in a transaction of its own that declares it writes (a page that
    only reads begins a reader's transaction on SQLite, which could not take the write lock
    later). A database still busy after its timeout skips the stamp: the next request stamps it."""
    commit_keeping_state()
    try:
        with write_intent(True):
            db.session.execute(update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now))
            commit_keeping_state()
    except OperationalError as exc:
        db.session.rollback()
        if not is_busy_error(exc):
            raise


@atomic
def do_end_session(key: Any, *, now: datetime, reason: str = "logout") -> None:
    """Logout: the session with this key is revoked; a key of no live session changes nothing."""
    _end_session(key, now=now, reason=reason)
    db.session.commit()


def _end_session(key: Any, *, now: datetime, reason: str) -> None:
    """Revoke the live session with this key, if any, in the current transaction (audited)."""
    if not isinstance(key, str) or not key or len(key) > 100:
        return
    row = db.session.execute(select(LoginSession).where(LoginSession.key_hash == hash_token(key),
                                                        LoginSession.revoked_at.is_(None))).scalar_one_or_none()
    if row is None:
        return
    row.revoked_at, row.revoked_reason = now, reason
    record_event("auth.logout", actor=row.person, object_type="login_session", object_id=row.id,
                 data={"reason": reason}, now=now)


def revoke_credentials(person_ids: Iterable[int], *, now: datetime, reason: str) -> tuple[int, int]:
    """Revoke every live session and token of these people in the current transaction (the caller
    audits and commits); returns how many sessions and tokens were revoked."""
    ids = sorted(set(person_ids))
    sessions = tokens = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        sessions += db.session.execute(
            update(LoginSession).where(LoginSession.person_id.in_(chunk), LoginSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)).rowcount
        tokens += db.session.execute(
            update(ApiToken).where(ApiToken.person_id.in_(chunk), ApiToken.revoked_at.is_(None),
                                   ApiToken.expires_at > now)
            .values(revoked_at=now)).rowcount
    return sessions, tokens


def can_log_out_everywhere(acting_user: Person, target: Person, roles: AbstractSet[str]) -> bool:
    """System administrators may end anyone's sessions; everyone may end their own."""
    return "admin" in roles or acting_user.id == target.id


@atomic
def do_log_out_everywhere(target: Person, *, acting_user: Person, roles: AbstractSet[str],
                          now: datetime) -> tuple[int, int]:
    """End every browser session and API token of ``target`` at once; returns the counts.
    Raises :class:`PermissionDenied`."""
    if not can_log_out_everywhere(acting_user, target, roles):
        raise PermissionDenied(_("只有系统管理员或本人可以结束其全部登录。"))
    sessions, tokens = revoke_credentials([target.id], now=now, reason="everywhere")
    record_event("auth.sessions.revoked_all", actor=acting_user, object_type="person", object_id=target.uid,
                 data={"sessions": sessions, "tokens": tokens}, now=now)
    db.session.commit()
    return sessions, tokens


@atomic
def do_set_local_password(person: Person, password: str, *, acting_user: Person | None, now: datetime) -> None:
    """Set a local (demo) password. Only used where ``IA_LOCAL_LOGIN=on``."""
    if len(password) < 8:
        raise ValidationError(_("密码至少 8 位。"), fields={"password": _("密码至少 8 位。")})
    person.local_password_hash = generate_password_hash(password)
    record_event("auth.local_password.set", actor=acting_user, object_type="person", object_id=person.uid,
                 data={}, now=now)
