"""Insert many rows, skipping those a unique key already holds, and learn which were new.

PostgreSQL gets one ``INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT DO NOTHING
RETURNING …`` per call: a handful of parameters however many rows, where a multi-row VALUES list
would make the driver parse thousands of placeholders (the time-limit scan fires thousands of
events at once). SQLite gets SQLAlchemy's batched executemany with RETURNING."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db

__all__ = ["insert_new"]


def insert_new(table: Table, rows: Sequence[dict[str, Any]], *, conflict: Sequence[str],
               returning: Sequence[str]) -> list[tuple]:
    """Insert ``rows`` (dicts with the same keys) into ``table`` unless ``conflict`` (a unique
    key's columns) already holds them; returns ``returning``'s values of the rows inserted."""
    if not rows:
        return []
    db.session.flush()
    if db.session.get_bind().dialect.name != "postgresql":
        statement = (sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
                     .returning(*[table.c[name] for name in returning]))
        return [tuple(r) for r in db.session.execute(statement, list(rows))]
    names = list(rows[0])
    dialect = postgresql.dialect()
    casts = ", ".join(f"CAST(:p{i} AS {table.c[name].type.compile(dialect=dialect)}[])" for i, name in enumerate(names))
    columns = ", ".join(f'"{name}"' for name in names)
    sql = (f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({casts}) '
           f'ON CONFLICT ({", ".join(conflict)}) DO NOTHING RETURNING {", ".join(returning)}')
    params = {f"p{i}": [row[name] for row in rows] for i, name in enumerate(names)}
    return [tuple(r) for r in db.session.execute(text(sql), params)]
