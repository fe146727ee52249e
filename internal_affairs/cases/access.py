"""Who may see a case. Everyone else gets 404 — in pages, API, attachments and records."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..clock import utcnow
from ..errors import NotFound
from ..delegation.queries import any_in_force, note_none_in_force, principals_for, read_at
from ..extensions import db
from ..inputs import valid_id
from ..seals.models import SealedRecord
from ..matters.models import MatterVersion
from ..org.models import Person
from ..org.queries import hr_agency_ids
from .models import Attachment, Case, CaseCC, CaseMaterial, CaseStep, Task
from .queries import note_without_extras

__all__ = ["access_case", "can_view_case", "hr_agency_ids", "lock_case_of_task"]


def can_view_case(case: Case, person: Person, roles: Set[str]) -> bool:
    """Applicant, anyone with a task on the case (assignee, actor, principal), CC'd people, the
    agency's HR, auditors (read-only), administrators, and whoever may act now for the holder of
    an open task (a delegate, 代理). Reads the case's tasks (which the case
    document needs anyway) rather than asking the database about them one question at a time."""
    if case.applicant_id == person.id:
        return True
    if any(person.id in (t.assignee_id, t.acted_by_id, t.on_behalf_of_id) for t in case.tasks):
        return True
    if roles & {"admin", "auditor"}:
        return True
    if db.session.execute(select(exists().where(CaseCC.case_id == case.id, CaseCC.person_id == person.id))).scalar():
        return True
    if case.agency_id in hr_agency_ids(person):
        return True
    return bool(principals_for(case, person, read_at() or utcnow()))


def access_case(case_id: Any, person: Person, roles: Set[str]) -> Case:
    """The case if ``person`` may see it. Raises :class:`NotFound` otherwise (never 403, so ids
    cannot be probed). Task actions lock their case with :func:`lock_case_of_task` instead."""
    if not valid_id(case_id):
        raise NotFound()
    now = utcnow()
    row = db.session.execute(_CASE_BY_ID, {"case": case_id, "now": now}).one_or_none()
    if row is None:
        raise NotFound()
    case, delegations = row
    if not delegations:
        note_none_in_force(now)
    if not can_view_case(case, person, roles):
        raise NotFound()
    return case


_FRESH = {"populate_existing": True}
_NAMED = (joinedload(Case.matter_type), joinedload(Case.agency),
          joinedload(Case.matter_version).load_only(MatterVersion.version, MatterVersion.digest))
"""With a case, what its document names: matter type, agency, version number (not the definition)."""
_CASE_BY_ID = (select(Case, any_in_force(bindparam("now")).label("delegations")).where(Case.id == bindparam("case"))
               .options(*_NAMED))
_SEEN = aliased(Case)
_HAS_EXTRAS = or_(*(exists().where(model.case_id == Case.id)
                     for model in (CaseCC, Attachment, CaseMaterial, SealedRecord)))
_LOCK_CASE_OF_TASK = (
    select(Case, select(_SEEN.version).where(_SEEN.id == Case.id).scalar_subquery().label("seen_version"),
           _HAS_EXTRAS.label("has_extras"), any_in_force(bindparam("now")).label("delegations"))
    .where(Case.id == select(Task.case_id).where(Task.id == bindparam("task")).scalar_subquery())
    .options(joinedload(Case.steps), joinedload(Case.tasks), *_NAMED).with_for_update(of=Case)
    .execution_options(**_FRESH))
_STEPS = (select(CaseStep).where(CaseStep.case_id == bindparam("case")).order_by(CaseStep.index)
          .execution_options(**_FRESH))
_TASKS = select(Task).where(Task.case_id == bindparam("case")).order_by(Task.id).execution_options(**_FRESH)
"""Built once: every case page and task action runs them."""


def lock_case_of_task(task_id: Any, now: datetime) -> Case:
    """The case a task belongs to, row-locked, with its steps and its tasks as the last committed
    action left them, replacing whatever the session held of them. Raises :class:`NotFound`.

    The case's row comes locked, with its steps and its tasks in the same statement. On
    PostgreSQL a statement that waits for a row lock returns the locked row as it is once the
    lock is granted, but the rows it joined as they were when it began: when another action moved
    the case on meanwhile, the steps and tasks that came with it are stale. The same statement
    reads the case's version once more without the lock (``seen_version``, which is the version
    as the statement began), so a wait that changed the case shows as a difference, and only then
    are the steps and tasks read again (a step or task changes only with its case's version, see
    :mod:`.writes`). It also says whether the case has CC entries, attachments
    or deferred materials, so that the answer to the action reads them only if it has, and whether
    any delegation is in force at ``now``, so that only then is it asked who may act for whom."""
    if not valid_id(task_id):
        raise NotFound()
    row = db.session.execute(_LOCK_CASE_OF_TASK, {"task": task_id, "now": now}).unique().one_or_none()
    if row is None:
        raise NotFound()
    case, seen_version, has_extras, delegations = row
    if not has_extras:
        note_without_extras(case.id)
    if not delegations:
        note_none_in_force(now)
    if seen_version != case.version:
        set_committed_value(case, "steps", list(db.session.execute(_STEPS, {"case": case.id}).scalars()))
        set_committed_value(case, "tasks", list(db.session.execute(_TASKS, {"case": case.id}).scalars()))
    return case
