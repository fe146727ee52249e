"""What the database holds, to assert that a refused or failed request wrote nothing."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

__all__ = ["row_counts", "table_state"]


def row_counts(app, *tables: str) -> dict[str, int]:
    """Rows per table (every table of the schema unless ``tables`` names some)."""
    from internal_affairs.extensions import db

    with app.app_context():
        chosen = [t for t in db.metadata.sorted_tables if not tables or t.name in tables]
        counts = {t.name: db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in chosen}
        db.session.rollback()
        return counts


def table_state(app) -> dict[str, tuple[int, str]]:
    """Per table: its row count and a digest of its rows (so an UPDATE shows as well as an INSERT)."""
    from internal_affairs.extensions import db

    state = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            digest = hashlib.sha256("\n".join(sorted(repr(tuple(r)) for r in rows)).encode("utf-8", "backslashreplace"))
            state[table.name] = (len(rows), digest.hexdigest())
        db.session.rollback()
    return state
