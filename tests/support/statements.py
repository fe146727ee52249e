"""Counting the SQL statements a block of code sends, to assert that a request's cost does not
grow with the data (no N+1)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event

__all__ = ["counted"]


@contextmanager
def counted(app) -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    from internal_affairs.extensions import db

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        if statement not in ("BEGIN", "BEGIN IMMEDIATE"):  # SQLite's, emitted as a statement (sqlite.py)
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
