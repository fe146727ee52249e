"""The scheduler's database lease: one conditional UPDATE decides who runs the jobs.

A holder takes the lease when it is free, expired or already its own, and renews it well before
it expires; a second scheduler started by mistake finds it held and waits. Works the same on
SQLite and PostgreSQL (no advisory lock: a lease also survives a connection drop and says who
holds it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from .models import SchedulerLease

__all__ = ["LEASE_NAME", "LeaseState", "acquire_lease", "release_lease", "get_lease"]

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    expires_at: datetime | None


def _ensure_row(name: str) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(SchedulerLease.__table__)
    db.session.execute(insert.values(name=name).on_conflict_do_nothing(index_elements=["name"]))


def acquire_lease(holder: str, *, now: datetime, ttl: timedelta, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease for ``holder`` until ``now + ttl`` and commit; False when someone
    else holds an unexpired lease (nothing changes then)."""
    _ensure_row(name)
    table = SchedulerLease
    renewed = db.session.execute(
        update(table).where(table.name == name, table.holder == holder, table.expires_at >= now)
        .values(renewed_at=now, expires_at=now + ttl))
    if not renewed.rowcount:
        taken = db.session.execute(
            update(table).where(table.name == name, or_(table.holder.is_(None), table.expires_at.is_(None),
                                                        table.expires_at < now))
            .values(holder=holder, acquired_at=now, renewed_at=now, expires_at=now + ttl))
        if not taken.rowcount:
            db.session.commit()
            return False
    db.session.commit()
    return True


def release_lease(holder: str, *, name: str = LEASE_NAME) -> bool:
    """Give the lease up if ``holder`` has it (a clean shutdown), so a successor starts at once."""
    result = db.session.execute(update(SchedulerLease).where(SchedulerLease.name == name,
                                                             SchedulerLease.holder == holder)
                                .values(holder=None, expires_at=None))
    db.session.commit()
    return bool(result.rowcount)


def get_lease(name: str = LEASE_NAME) -> LeaseState:
    row = db.session.execute(select(SchedulerLease).where(SchedulerLease.name == name)).scalar_one_or_none()
    db.session.commit()
    return LeaseState(holder=row.holder, expires_at=row.expires_at) if row else LeaseState(None, None)
