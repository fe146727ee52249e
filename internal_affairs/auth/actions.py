"""Login by directory bind (or a local password in the demo) and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Mapping

from flask_babel import gettext as _
from sqlalchemy import DateTime, bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from org_sync.model import SyncSourceError

from ..atomic import atomic
from ..audit.actions import record_event
from ..errors import AuthenticationFailed, ServiceUnavailable, ValidationError
from ..extensions import db
from ..org.directory import directory_configured, ldap_settings
from ..org.models import Person
from .models import ApiToken

__all__ = ["authenticate", "do_issue_token", "get_token_person", "do_set_local_password", "hash_token"]

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


def authenticate(username: Any, password: Any, *, config: Mapping[str, Any], now: datetime) -> Person:
    """The active person whose directory (or demo local) password this is.

    The directory is asked first: the login is looked up by escaped filter and the password
    checked by binding as that DN. Raises :class:`AuthenticationFailed` (also for deactivated
    people, without saying so) and :class:`ServiceUnavailable` when the directory is down and
    no local password applies.
    """
    username, password = _check_credentials_shape(username, password)
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
        record_event("auth.login.failed", actor=None, object_type="login", object_id=username[:100],
                     data={}, now=now)
        db.session.commit()
        raise AuthenticationFailed()
    if person is None or not person.active:
        record_event("auth.login.failed", actor=None, object_type="login", object_id=username[:100],
                     data={"reason": "unknown_or_inactive"}, now=now)
        db.session.commit()
        raise AuthenticationFailed()
    record_event("auth.login", actor=person, object_type="person", object_id=person.uid, data={}, now=now)
    db.session.commit()
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
def do_set_local_password(person: Person, password: str, *, actor: Person | None, now: datetime) -> None:
    """Set a local (demo) password. Only used where ``IA_LOCAL_LOGIN=on``."""
    if len(password) < 8:
        raise ValidationError(_("密码至少 8 位。"), fields={"password": _("密码至少 8 位。")})
    person.local_password_hash = generate_password_hash(password)
    record_event("auth.local_password.set", actor=actor, object_type="person", object_id=person.uid,
                 data={}, now=now)
