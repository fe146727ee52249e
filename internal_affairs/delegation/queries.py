"""Reads of delegations: who may act for whom now (for one case, and for the inbox), and the
delegations a person gave and received."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Iterable

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import joinedload

from ..cases.engine import Principal
from ..cases.models import OPEN_TASK, Case, Task
from ..cases.queries import iso, transaction_memo
from ..clock import LOCAL_TZ
from ..errors import NotFound
from ..extensions import db
from ..inputs import valid_id
from ..matters.models import MatterType
from ..org.models import Person
from ..org.queries import get_hr_scope
from .chain import MAX_HOPS, Grant, covers, resolve_chain
from .models import Delegation, delegation_state, in_force

__all__ = ["in_force", "acting_delegate", "any_in_force", "note_none_in_force", "read_at", "ABSENCE_MATTERS", "absence_days", "get_absences", "get_month_delegations", "active_delegations", "principals_for",
           "delegated_task_ids", "get_delegations", "get_delegation", "delegation_to_json", "active_for_person",
           "access_delegation", "local"]


def active_delegations(now: datetime, *, people: Iterable[int] | None = None) -> list[Delegation]:
    """The delegations in force at ``now``; with ``people``, only those given by or to them."""
    stmt = select(Delegation).where(in_force(now))
    if people is not None:
        ids = sorted(set(people))
        stmt = stmt.where(or_(Delegation.principal_id.in_(ids), Delegation.delegate_id.in_(ids)))
    return list(db.session.execute(stmt).scalars())


def any_in_force(now):
    """An EXISTS of any delegation in force at ``now`` (a value or a bind parameter), for a
    statement that reads something else anyway to carry (see :func:`note_none_in_force`)."""
    return exists().where(in_force(now))


def note_none_in_force(now: datetime) -> None:
    """Tell the rest of this transaction (and the answer built right after an action's commit)
    that no delegation is in force at ``now``, as a statement it ran found: nobody acts for
    anyone, and nothing more is read to find that out."""
    transaction_memo()["delegations_in_force"] = (now, [])


def read_at() -> datetime | None:
    """The instant this transaction read the delegations in force at (see :func:`_in_force_rows`),
    so that the answer to an action judges who may act for whom as the action did."""
    found = transaction_memo().get("delegations_in_force")
    return found[0] if found else None


def _in_force_rows(now: datetime) -> list[Any]:
    """Every delegation in force at ``now`` as ``(principal_id, delegate_id, matter_types)`` rows,
    in one statement (served by ``ix_delegation_window``), read once per transaction and instant:
    a district has few at any moment, and the chains are walked in memory."""
    memo = transaction_memo()
    found = memo.get("delegations_in_force")
    if found is not None and found[0] == now:
        return found[1]
    rows = db.session.execute(select(Delegation.principal_id, Delegation.delegate_id, Delegation.matter_types)
                              .where(in_force(now))).all()
    memo["delegations_in_force"] = (now, rows)
    return rows


def _reachable(holders: Iterable[int], rows: list[Any]) -> list[Any]:
    """The rows a chain from ``holders`` may follow (up to MAX_HOPS hops)."""
    by_principal: dict[int, list[Any]] = {}
    for row in rows:
        by_principal.setdefault(row.principal_id, []).append(row)
    found: list[Any] = []
    seen = set(holders)
    frontier = set(holders)
    for _hop in range(MAX_HOPS):
        following = set()
        for principal in frontier:
            for row in by_principal.get(principal, ()):
                found.append(row)
                if row.delegate_id not in seen:
                    seen.add(row.delegate_id)
                    following.add(row.delegate_id)
        frontier = following
        if not frontier:
            break
    return found


def _facts(rows: list[Any], holders: set[int], applicants: set[int]) -> tuple[set[int], dict[int, int | None]]:
    """Who among the delegations' people is inactive, and, only when an applicant is among the
    delegates (a manager then stands in), the manager chain above the holders."""
    ids = {r.delegate_id for r in rows} | {r.principal_id for r in rows} | holders
    people = db.session.execute(select(Person.id, Person.active, Person.manager_id)
                                .where(Person.id.in_(sorted(ids)))).all() if ids else []
    inactive = {p.id for p in people if not p.active}
    if not applicants & {r.delegate_id for r in rows}:
        return inactive, {}
    managers = {p.id: p.manager_id for p in people}
    frontier = {m for m in managers.values() if m and m not in managers}
    for _level in range(MAX_HOPS):
        if not frontier:
            break
        more = db.session.execute(select(Person.id, Person.active, Person.manager_id)
                                  .where(Person.id.in_(sorted(frontier)))).all()
        frontier = set()
        for p in more:
            managers[p.id] = p.manager_id
            if not p.active:
                inactive.add(p.id)
            if p.manager_id and p.manager_id not in managers:
                frontier.add(p.manager_id)
    return inactive, managers


def _rights(holder: int, rows: list[Any], matter: str, applicant: int, inactive, managers):
    grants = [Grant(r.principal_id, r.delegate_id) for r in rows if covers(r.matter_types, matter)]
    return resolve_chain(holder, grants, applicant=applicant, inactive=inactive, managers=managers)


def principals_for(case: Case, person: Person, now: datetime, *, matter: str | None = None,
                   task: Task | None = None) -> tuple[Principal, ...]:
    """The holders of ``case``'s open tasks (and of ``task``, the one acted on, whatever its
    status: a delegate who comes second meets a decided task, a clean 409, not a refusal) that
    ``person`` may act for at ``now`` (the engine's :attr:`Actor.principals`). Never anything on
    the person's own case. One statement when no delegation is in force, four at most otherwise
    (plus the manager chain when the applicant is someone's delegate)."""
    if person.id == case.applicant_id:
        return ()
    holders = {t.assignee_id for t in case.tasks
               if (t.status == OPEN_TASK or t is task) and t.assignee_id is not None and t.assignee_id != person.id}
    if not holders:
        return ()
    rows = _reachable(holders, _in_force_rows(now))
    if not rows:
        return ()
    inactive, managers = _facts(rows, holders, {case.applicant_id})
    code = matter or case.matter_type.code
    found: list[tuple[int, str]] = []
    for holder in sorted(holders):
        right = _rights(holder, rows, code, case.applicant_id, inactive, managers).get(person.id)
        if right is not None:
            found.append((holder, right.reason))
    if not found:
        return ()
    people = {p.id: p for p in db.session.execute(select(Person.id, Person.uid, Person.name)
                                                  .where(Person.id.in_([h for h, _ in found])))}
    return tuple(Principal(h, people[h].uid, people[h].name, reason) for h, reason in found)


def acting_delegate(holder_id: int, *, matter: str, applicant_id: int, now: datetime) -> Person | None:
    """The person nearest along ``holder_id``'s delegation chain who may act for them on a case of
    ``matter`` that ``applicant_id`` applied for, at ``now`` (the same resolver as the actions: the
    time-limit escalation ``escalate_to: delegate`` tells them the task is overdue). None when no
    delegation of theirs is in force."""
    rows = _reachable({holder_id}, _in_force_rows(now))
    if not rows:
        return None
    inactive, managers = _facts(rows, {holder_id}, {applicant_id})
    rights = _rights(holder_id, rows, matter, applicant_id, inactive, managers)
    if not rights:
        return None
    nearest = min(rights.values(), key=lambda right: (right.hops, right.person))
    return db.session.get(Person, nearest.person)


def delegated_task_ids(person: Person, now: datetime) -> dict[int, int]:
    """The open tasks of other people that ``person`` may act on at ``now`` (task id → holder),
    found with the same resolver the actions use: candidates are the tasks of everyone whose
    delegation chain could reach the person (up to three hops back) and of the people they
    manage who delegated (a manager stands in for an applicant-delegate), each then checked for
    its case (matter scope, applicant). A constant number of statements."""
    rows = _in_force_rows(now)
    if not rows:
        return {}
    by_delegate: dict[int, list[Any]] = {}
    for row in rows:
        by_delegate.setdefault(row.delegate_id, []).append(row)
    principals: set[int] = set()
    seen = {person.id}
    frontier = {person.id}
    for _hop in range(MAX_HOPS):
        following = set()
        for delegate in frontier:
            for row in by_delegate.get(delegate, ()):
                principals.add(row.principal_id)
                if row.principal_id not in seen:
                    seen.add(row.principal_id)
                    following.add(row.principal_id)
        frontier = following
    reports = set(db.session.execute(select(Person.id).where(
        Person.manager_id == person.id, Person.id.in_(sorted({r.principal_id for r in rows})))).scalars())
    candidates = (principals | reports) - {person.id}
    if not candidates:
        return {}
    tasks = db.session.execute(
        select(Task.id, Task.assignee_id, Case.applicant_id, MatterType.code)
        .join(Case, Case.id == Task.case_id).join(MatterType, MatterType.id == Case.matter_type_id)
        .where(Task.status == OPEN_TASK, Task.assignee_id.in_(sorted(candidates)), Case.applicant_id != person.id)
    ).all()
    if not tasks:
        return {}
    holders = {t.assignee_id for t in tasks}
    reachable = _reachable(holders, rows)
    inactive, managers = _facts(reachable, holders, {t.applicant_id for t in tasks})
    allowed: dict[int, int] = {}
    for t in tasks:
        if person.id in _rights(t.assignee_id, reachable, t.code, t.applicant_id, inactive, managers):
            allowed[t.id] = t.assignee_id
    return allowed


def get_delegation(delegation_id: Any) -> Delegation | None:
    if not valid_id(delegation_id):
        return None
    return db.session.get(Delegation, delegation_id)


def access_delegation(delegation_id: Any, person: Person, roles) -> Delegation:
    """The delegation if ``person`` may see it (its principal, its delegate, HR of the principal's
    agency, district HR and administrators). Raises :class:`NotFound` otherwise."""
    row = get_delegation(delegation_id)
    if row is None:
        raise NotFound()
    if person.id in (row.principal_id, row.delegate_id):
        return row
    scope = get_hr_scope(person, roles)
    if scope.district or row.principal.agency_id in scope.agency_ids:
        return row
    raise NotFound()


_PEOPLE = tuple(joinedload(rel) for rel in (Delegation.principal, Delegation.delegate, Delegation.created_by,
                                           Delegation.revoked_by))
"""The people a listed delegation names, read with it (a list would otherwise read them one by one)."""


def get_delegations(person: Person, *, now: datetime, include_past: bool = True,
                    agency_ids: Iterable[int] = ()) -> list[Delegation]:
    """Delegations given by or to ``person`` (and, for HR, by anyone in ``agency_ids``), newest
    first; without ``include_past`` only those not yet over (scheduled, active, proposed)."""
    who = or_(Delegation.principal_id == person.id, Delegation.delegate_id == person.id)
    agencies = sorted(set(agency_ids))
    if agencies:
        who = or_(who, Delegation.principal_id.in_(select(Person.id).where(Person.agency_id.in_(agencies))))
    stmt = select(Delegation).where(who).options(*_PEOPLE)
    if not include_past:
        stmt = stmt.where(Delegation.revoked_at.is_(None), Delegation.ends_at > now)
    return list(db.session.execute(stmt.order_by(Delegation.starts_at.desc(), Delegation.id.desc()).limit(200))
                .scalars())


def active_for_person(person: Person, now: datetime) -> list[dict[str, Any]]:
    """``GET /me``'s delegations: those in force both ways, each with ``direction`` ``given``
    (the person is the principal) or ``received`` (the delegate)."""
    rows = active_delegations(now, people=[person.id])
    return [delegation_to_json(r, now) | {"direction": "given" if r.principal_id == person.id else "received"}
            for r in rows]


def _who(p: Person | None) -> dict[str, Any] | None:
    return None if p is None else {"uid": p.uid, "name": p.name}


def local(value: datetime) -> str:
    """A naive UTC instant as Shanghai wall time (``2026-12-07 09:00``) for pages."""
    return value.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def delegation_to_json(row: Delegation, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id, "principal": _who(row.principal), "delegate": _who(row.delegate),
        "starts_at": iso(row.starts_at), "ends_at": iso(row.ends_at),
        "matter_types": list(row.matter_types) if row.matter_types else None, "reason": row.reason,
        "source": row.source, "source_case_id": row.source_case_id, "state": delegation_state(row, now),
        "created_at": iso(row.created_at), "created_by": _who(row.created_by),
        "revoked_at": iso(row.revoked_at), "revoked_by": _who(row.revoked_by),
    }




ABSENCE_MATTERS = ("leave", "business_trip", "overseas_travel")
"""Approved cases of these matters are absences on a person's calendar."""


def absence_days(form: dict[str, Any] | None) -> tuple[date, date] | None:
    """The first and last day of an absence case's form (``start_date``, ``end_date``, which
    defaults to the start); None when they are missing, malformed or reversed."""
    form = form or {}
    try:
        start = date.fromisoformat(form.get("start_date") or "")
        end = date.fromisoformat(form.get("end_date") or form.get("start_date") or "")
    except (TypeError, ValueError):
        return None
    return (start, end) if start <= end else None


def get_absences(person: Person, first: date, last: date) -> list[dict[str, Any]]:
    """The person's approved absences (leave, business trips, travel abroad) that overlap the
    days ``first`` to ``last``: ``{case_id, number, matter, title, start, end}`` by start date."""
    rows = db.session.execute(
        select(Case.id, Case.number, Case.title, Case.form, MatterType.code, MatterType.name)
        .join(MatterType, MatterType.id == Case.matter_type_id)
        .where(Case.applicant_id == person.id, MatterType.code.in_(ABSENCE_MATTERS),
               Case.status.in_(("approved", "completed")))).all()
    found = []
    for r in rows:
        days = absence_days(r.form)
        if days is None:
            continue
        start, end = days
        if start <= last and end >= first:
            found.append({"case_id": r.id, "number": r.number, "matter": r.code, "matter_name": r.name,
                          "title": r.title, "start": start, "end": end})
    return sorted(found, key=lambda a: (a["start"], a["case_id"]))


def get_month_delegations(person: Person, start: datetime, end: datetime) -> list[Delegation]:
    """Delegations given or received by ``person`` whose window overlaps ``start``..``end``
    (naive UTC), revoked ones left out (they are on the delegation page)."""
    return list(db.session.execute(
        select(Delegation).where(or_(Delegation.principal_id == person.id, Delegation.delegate_id == person.id),
                                 Delegation.revoked_at.is_(None), Delegation.starts_at < end,
                                 Delegation.ends_at > start)
        .options(*_PEOPLE[:2]).order_by(Delegation.starts_at, Delegation.id)).scalars())

