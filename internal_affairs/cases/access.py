"""Who may see a case. Everyone else gets 404 — in pages, API, attachments and records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select

from ..errors import NotFound
from ..extensions import db
from ..org.models import OrgGroup, OrgGroupMember, Person
from .models import Case, CaseCC, Task

__all__ = ["access_case", "can_view_case", "hr_agency_ids"]


def hr_agency_ids(person: Person) -> set[int]:
    """Agencies in which ``person`` holds the ``hr`` role."""
    return set(db.session.execute(
        select(OrgGroup.agency_id).join(OrgGroupMember, OrgGroupMember.group_id == OrgGroup.id)
        .where(OrgGroupMember.person_id == person.id, OrgGroup.kind == "role", OrgGroup.role_code == "hr",
               OrgGroup.active.is_(True))).scalars())


def can_view_case(case: Case, person: Person, roles: set[str]) -> bool:
    """Applicant, anyone with a task on the case (assignee, actor, principal), CC'd people, the
    agency's HR, auditors (read-only) and administrators."""
    if case.applicant_id == person.id or roles & {"admin", "auditor"}:
        return True
    involved = db.session.execute(select(exists().where(
        Task.case_id == case.id,
        or_(Task.assignee_id == person.id, Task.acted_by_id == person.id, Task.on_behalf_of_id == person.id)))).scalar()
    if involved:
        return True
    if db.session.execute(select(exists().where(CaseCC.case_id == case.id, CaseCC.person_id == person.id))).scalar():
        return True
    return case.agency_id in hr_agency_ids(person)


def access_case(case_id: Any, person: Person, roles: set[str], *, lock: bool = False) -> Case:
    """The case if ``person`` may see it. Raises :class:`NotFound` otherwise (never 403, so ids
    cannot be probed). ``lock`` takes a row lock on PostgreSQL for a decision."""
    if isinstance(case_id, bool) or not isinstance(case_id, int) or case_id < 1 or case_id > 2**31:
        raise NotFound()
    stmt = select(Case).where(Case.id == case_id)
    if lock:
        stmt = stmt.with_for_update()
    case = db.session.execute(stmt).scalar_one_or_none()
    if case is None or not can_view_case(case, person, roles):
        raise NotFound()
    return case
