"""The unit of work around every write action."""

from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from .errors import StaleStateError
from .extensions import db

__all__ = ["atomic", "commit_keeping_state"]

F = TypeVar("F", bound=Callable)


def atomic(action: F) -> F:
    """Roll the session back when ``action`` raises, so a failed write leaves nothing pending
    (the action itself commits on success). A versioned row that changed since it was read
    (StaleDataError) becomes :class:`StaleStateError` (409)."""

    @wraps(action)
    def run(*args, **kwargs):
        try:
            return action(*args, **kwargs)
        except StaleDataError:
            db.session.rollback()
            raise StaleStateError() from None
        except BaseException:
            db.session.rollback()
            raise

    return run  # type: ignore[return-value]


def commit_keeping_state() -> None:
    """Commit without expiring what the session holds, for an action whose answer is built from
    exactly the rows it just read under lock and wrote (a task action and its case document):
    reading them all back would only return the same values."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
