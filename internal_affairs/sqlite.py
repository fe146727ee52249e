"""SQLite as the embedded default: a small office writing at the same moment without a 500.

SQLite's deferred transactions take the write lock only at their first write, so two of them can
read the same state (the audit chain's tip, the next case number) and both write on it. Here every
transaction that may write starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite
recipe: the driver's own transaction handling is switched off and the ``begin`` event emits the
statement), waiting up to the busy timeout for the lock; the file runs in WAL mode, so readers
never wait for a writer. Requests with a safe method (GET, HEAD, OPTIONS) read in deferred
transactions; everything else — unsafe requests, the command line, jobs — takes the lock when it
begins. A lock still held by someone else after the timeout surfaces as :class:`DatabaseBusy`
(503 ``busy``), and the transaction writes nothing.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from flask import Flask, has_request_context, request
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from .errors import DomainError

__all__ = ["DatabaseBusy", "configure_sqlite", "is_busy_error", "write_intent", "BUSY_RETRY_AFTER"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_BUSY_TIMEOUT_MS = 10_000
BUSY_RETRY_AFTER = 2
"""Seconds a client is asked to wait before trying again (``Retry-After``)."""

_intent: ContextVar[bool | None] = ContextVar("ia_sqlite_write_intent", default=None)


class DatabaseBusy(DomainError):
    """The embedded database stayed locked by other writers for longer than the busy timeout."""

    code = "busy"
    http_status = 503
    default_message = lazy_gettext("系统繁忙，请稍后重试。")
    retry_after = BUSY_RETRY_AFTER


@contextmanager
def write_intent(writes: bool = True) -> Iterator[None]:
    """Say whether transactions begun inside the block will write, overriding the request
    method: a job that only reads, or a safe-method request that must write."""
    token = _intent.set(writes)
    try:
        yield
    finally:
        _intent.reset(token)


def _takes_write_lock() -> bool:
    declared = _intent.get()
    if declared is not None:
        return declared
    if has_request_context():
        return request.method not in SAFE_METHODS
    return True


def is_busy_error(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's "database is locked" (SQLITE_BUSY) after the timeout."""
    orig = getattr(error, "orig", error)
    return (isinstance(error, OperationalError) and isinstance(orig, sqlite3.OperationalError)
            and "locked" in str(orig).lower())


def configure_sqlite(app: Flask, engine: Engine) -> None:
    """Give ``engine`` (when it is SQLite) foreign keys, WAL, a busy timeout and write locks
    taken at BEGIN. A file database is switched to WAL once (the mode is kept in the file)."""
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # pragma: no cover - driver hook
        dbapi_connection.isolation_level = None  # the begin event below emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        timeout_ms = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", DEFAULT_BUSY_TIMEOUT_MS))
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - driver hook
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _takes_write_lock() else "BEGIN")
