"""Reads of a person's credentials: their live API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..org.models import Person
from .models import ApiToken

__all__ = ["get_live_tokens", "token_to_json"]

MAX_LISTED = 100


def get_live_tokens(person: Person, *, now: datetime) -> list[ApiToken]:
    """The person's unrevoked, unexpired tokens, newest first (never the token itself: only its
    hash is stored)."""
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.person_id == person.id, ApiToken.revoked_at.is_(None),
                               ApiToken.expires_at > now)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(MAX_LISTED)).scalars())


def token_to_json(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "created_at": token.created_at.isoformat() + "Z",
            "expires_at": token.expires_at.isoformat() + "Z",
            "revoked_at": token.revoked_at.isoformat() + "Z" if token.revoked_at else None}
