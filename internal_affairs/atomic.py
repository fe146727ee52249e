"""The unit of work around every write action."""

from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar

from .extensions import db

__all__ = ["atomic"]

F = TypeVar("F", bound=Callable)


def atomic(action: F) -> F:
    """Roll the session back when ``action`` raises, so a failed write leaves nothing pending
    (the action itself commits on success)."""

    @wraps(action)
    def run(*args, **kwargs):
        try:
            return action(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return run  # type: ignore[return-value]
