"""Reads of cases: the case document (API and pages share it) and the inbox boxes.

Each read is a constant number of statements however many steps, tasks or items there are.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterable

from sqlalchemy import (Boolean, DateTime, Integer, String, Text, and_, bindparam, cast, event, exists, func, inspect,
                        literal, null, or_, select, union_all)
from sqlalchemy.orm import Session, aliased

from ..clock import utcnow
from ..delegation.models import Delegation, in_force
from ..errors import BadRequest
from ..extensions import db
from ..matters.models import MatterType, MatterVersion
from ..org.models import Agency, Person
from ..org.queries import is_system_admin
from ..seals.models import SealedRecord
from ..seals.queries import record_json
from . import engine
from .engine import Actor, capabilities
from .writes import to_state
from .models import OPEN_TASK, Attachment, Case, CaseCC, CaseMaterial, CaseRevision, Reminder, Task

__all__ = ["transaction_memo", "case_to_json", "viewer_capabilities", "hold_people", "held_person", "note_state", "learnt", "relearn", "named_in_case", "note_extras", "note_without_extras", "get_inbox", "BOXES", "iso", "person_label"]

BOXES = ("todo", "done", "mine", "cc")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def person_label(acted_by: Any, on_behalf_of: Any) -> str | None:
    """How the record names whoever acted: 王五（代张三） for a delegate."""
    if acted_by is None:
        return None
    if on_behalf_of is not None and on_behalf_of.id != acted_by.id:
        return f"{acted_by.name}（代{on_behalf_of.name}）"
    return acted_by.name


def _brief(person: Any) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"uid": person.uid, "name": person.name, "title": person.title}


def _task_json(task: Task | engine.Task, people: dict[int, Any]) -> dict[str, Any]:
    assignee = people.get(task.assignee_id)
    acted = people.get(task.acted_by_id) if task.acted_by_id else None
    behalf = people.get(task.on_behalf_of_id) if task.on_behalf_of_id else None
    return {
        "id": task.id, "kind": str(task.kind), "branch": task.branch, "origin": task.origin,
        "assignee": assignee.uid if assignee else None, "assignee_name": assignee.name if assignee else None,
        "assignee_title": assignee.title if assignee else None,
        "status": str(task.status), "acted_by": acted.uid if acted else None,
        "on_behalf_of": behalf.uid if behalf else None, "acted_label": person_label(acted, behalf),
        "decision": task.decision, "comment": task.comment, "note": task.note,
        "created_at": iso(task.created_at), "due_at": iso(task.due_at), "decided_at": iso(task.decided_at),
        "blocked": task.blocked_by_task_id is not None, "parent_task_id": task.parent_task_id,
        "obligation": task.obligation_code,
        "waiting_for_admin": task.assignee_id is None and task.status == OPEN_TASK,
        "overdue": bool(task.due_at and (task.decided_at or utcnow()) > task.due_at),
    }


_NAMES = select(
    select(MatterType.code).where(MatterType.id == bindparam("type")).scalar_subquery().label("code"),
    select(MatterType.name).where(MatterType.id == bindparam("type")).scalar_subquery().label("matter_name"),
    select(MatterVersion.version).where(MatterVersion.id == bindparam("version")).scalar_subquery().label("version"),
    select(Agency.name).where(Agency.id == bindparam("agency")).scalar_subquery().label("agency_name"))
"""A case's matter and agency names in one statement (three rows by primary key)."""


_CASE = bindparam("case", type_=Integer)
_PEOPLE = select(Person.id, Person.uid, Person.name, Person.title).where(
    Person.id.in_(bindparam("ids", expanding=True)) | Person.uid.in_(bindparam("uids", expanding=True)))
_SLOTS = {"id": Integer, "ref": Integer, "material": String, "text1": String, "text2": Text, "text3": String,
          "sha256": String, "at1": DateTime, "at2": DateTime, "flag": Boolean}


def _part(name: str, entity, **columns):
    """One list of the case's extras in the shared columns of :data:`_EXTRAS` (NULL where a list
    has nothing to put)."""
    return select(literal(name, String).label("part"), *[
        (columns[slot] if slot in columns else cast(null(), kind)).label(slot) for slot, kind in _SLOTS.items()
    ]).where(entity.case_id == _CASE)


_EXTRAS = union_all(
    _part("cc", CaseCC, id=CaseCC.id, ref=CaseCC.person_id, at1=CaseCC.created_at),
    _part("attachment", Attachment, id=Attachment.id, ref=Attachment.size, material=Attachment.material,
          text1=Attachment.filename, text2=Attachment.content_type, text3=Attachment.kind, sha256=Attachment.sha256,
          at1=Attachment.uploaded_at, flag=Attachment.superseded),
    _part("material", CaseMaterial, id=CaseMaterial.id, material=CaseMaterial.material, text1=CaseMaterial.status,
          text2=CaseMaterial.commitment, at1=CaseMaterial.due_at, at2=CaseMaterial.supplied_at),
    _part("record", SealedRecord, id=SealedRecord.id, text1=SealedRecord.status, sha256=SealedRecord.sha256,
          at1=SealedRecord.sealed_at),
).order_by("part", "id")
"""A case's CC list, attachments, deferred materials and sealed record in one statement (each
short, most empty)."""


def _extras(case_id: int) -> tuple[list[Any], list[Any], list[Any], Any]:
    """The CC entries, attachments and deferred materials of a case, each in insertion order, and
    its sealed record (None until it finished)."""
    cc, attachments, materials, record = [], [], [], None
    for row in db.session.execute(_EXTRAS, {"case": case_id}):
        if row.part == "record":
            record = SimpleNamespace(status=row.text1, sha256=row.sha256, sealed_at=row.at1)
        elif row.part == "cc":
            cc.append(SimpleNamespace(person_id=row.ref, created_at=row.at1))
        elif row.part == "attachment":
            attachments.append(SimpleNamespace(
                id=row.id, material=row.material, filename=row.text1, content_type=row.text2, kind=row.text3,
                size=row.ref, sha256=row.sha256, uploaded_at=row.at1, superseded=row.flag))
        else:
            materials.append(SimpleNamespace(material=row.material, status=row.text1, commitment=row.text2,
                                             due_at=row.at1, supplied_at=row.at2))
    return cc, attachments, materials, record


_REVISIONS = (select(CaseRevision.number, CaseRevision.diff, CaseRevision.created_at)
              .where(CaseRevision.case_id == _CASE).order_by(CaseRevision.number))
"""The case document's statements, built once (building a select costs more than running it)."""


def named_in_case(case: Case | engine.Case) -> tuple[set[int], set[str]]:
    """Whom the case document names: the ids of its applicant and of everyone on its tasks, and
    the uids of everyone its current plan names (approvers and those skipped)."""
    ids = {case.applicant_id} | {i for t in case.tasks for i in (t.assignee_id, t.acted_by_id, t.on_behalf_of_id) if i}
    uids = {uid for s in case.steps if s.index >= 0 for lane in (s.spec.get("branches") or [s.spec])
            for uid in list(lane.get("approvers", [])) + [sk["uid"] for sk in lane.get("skipped", [])]}
    return ids, uids


def _memo() -> dict[str, Any]:
    """What the current transaction has learnt about its cases, forgotten when it ends."""
    return db.session.info.setdefault("cases_memo", {})


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("cases_memo", None)


def transaction_memo() -> dict[str, Any]:
    """What the current transaction has learnt (other domains keep their own keys in it)."""
    return _memo()


def learnt() -> dict[str, Any]:
    """What the current transaction has learnt about its cases (see :func:`relearn`)."""
    return dict(db.session.info.get("cases_memo") or {})


def relearn(memo: dict[str, Any]) -> None:
    """Keep what a task action's transaction learnt for the answer built right after its commit
    (from the rows it wrote, as they were at commit), until the next transaction ends."""
    if memo:
        db.session.info["cases_memo"] = memo


def hold_people(people: Iterable[Any]) -> None:
    """Keep ``people`` (read by an action: persons, or rows with their id, uid, name and title)
    until the transaction ends, so that the case document finds them without a read."""
    _memo().setdefault("people", []).extend(people)


def held_person(person_id: int) -> Any | None:
    """The person ``person_id`` as this transaction's action read and held them, if it did."""
    return next((p for p in _memo().get("people", ()) if p.id == person_id), None)


def note_state(state: engine.Case) -> None:
    """Tell the case document the state an action just wrote (its new rows with their ids), so
    that the answer is built from it rather than from rows read again."""
    _memo().setdefault("states", {})[state.id] = state


def _state_of(case: Case) -> engine.Case:
    """The engine's state of ``case``: what this transaction's action wrote, if it is the case's
    current version, else made from the loaded rows."""
    state = _memo().get("states", {}).get(case.id)
    return state if state is not None and state.version == case.version else to_state(case)


def note_extras(case_id: int) -> None:
    """Tell the case document that ``case_id`` now has extras after all (this transaction added
    one, e.g. the sealed record of the case it finished)."""
    _memo().get("without_extras", set()).discard(case_id)


def note_without_extras(case_id: int) -> None:
    """Tell the case document that ``case_id`` has no CC entries, attachments or deferred
    materials, as a read in this transaction found (a task action adds none of them)."""
    _memo().setdefault("without_extras", set()).add(case_id)


def _people_in_session() -> tuple[dict[int, Any], dict[str, Any]]:
    """The people the session already holds, fully loaded, and those an action read and held
    (:func:`hold_people`), by id and uid."""
    held = [o for o in db.session.identity_map.values()
            if isinstance(o, Person) and {"id", "uid", "name", "title"} <= o.__dict__.keys()]
    held += _memo().get("people", ())
    return {p.id: p for p in held}, {p.uid: p for p in held}


def viewer_capabilities(case: Case, viewer: Person, *, matter: str | None = None) -> engine.Capabilities:
    """What ``viewer`` may do with ``case`` now (:func:`internal_affairs.cases.engine.capabilities`
    with the holders they may act for, 代理): the one answer the case document, the document
    pages and the templates read."""
    from ..delegation.queries import principals_for, read_at

    state = _state_of(case)
    waiting = any(t.assignee_id is None and t.status == OPEN_TASK for t in state.tasks)
    principals = principals_for(state, viewer, read_at() or utcnow(), matter=matter or case.matter_type.code)
    return capabilities(state, Actor(viewer.id, viewer.name, waiting and is_system_admin(viewer), principals))


def case_to_json(case: Case, viewer: Person | None = None) -> dict[str, Any]:
    """The case as DESIGN §10 describes it, with what ``viewer`` may do next (``capabilities``,
    from :func:`internal_affairs.cases.engine.capabilities`, the rules the actions enforce).

    A constant number of statements however big the case: the steps and tasks of the state the
    action of this transaction wrote (:func:`note_state`), else ``case.steps`` and ``case.tasks``
    as loaded (a read loads each in one statement); the names that came
    with the case (else one statement); the people the session holds (else one statement for the
    rest); CC, attachments and deferred materials together, unless this transaction found the case
    has none; revisions only for a case that was returned."""
    state = _state_of(case)
    steps = sorted((s for s in state.steps if s.index >= 0), key=lambda s: s.index)
    tasks = state.tasks
    if case.id in _memo().get("without_extras", ()):
        cc, attachments, materials, record = [], [], [], None
    else:
        cc, attachments, materials, record = _extras(case.id)
    ids, planned_uids = named_in_case(state)
    ids |= {c.person_id for c in cc}
    people, named = _people_in_session()
    missing_ids, missing_uids = ids - people.keys(), planned_uids - named.keys()
    if missing_ids or missing_uids:
        for p in db.session.execute(_PEOPLE, {"ids": sorted(missing_ids), "uids": sorted(missing_uids)}):
            people[p.id] = named[p.uid] = p
    loaded = inspect(case).unloaded.isdisjoint(("matter_type", "matter_version", "agency"))
    names = SimpleNamespace(code=case.matter_type.code, matter_name=case.matter_type.name,
                            version=case.matter_version.version, agency_name=case.agency.name) if loaded else \
        db.session.execute(_NAMES, {"type": case.matter_type_id, "version": case.matter_version_id,
                                    "agency": case.agency_id}).one()
    # revisions are made only by resubmitting, which only a returned case can be
    revisions = db.session.execute(_REVISIONS, {"case": case.id}).all() if state.return_count else []

    def who(uid: str) -> dict[str, Any]:
        person = named.get(uid)
        return {"uid": uid, "name": person.name if person else uid, "title": person.title if person else None}

    by_step: dict[int | None, list[Task]] = {}
    for task in tasks:
        by_step.setdefault(task.step_id, []).append(task)
    applicant = people[case.applicant_id]
    caps = viewer_capabilities(case, viewer, matter=names.code) if viewer is not None else None
    mine = [t for t in tasks if caps is not None and t.id in caps.decide]
    data = {
        "id": case.id, "number": state.number, "title": state.title, "matter_type": names.code,
        "matter_name": names.matter_name, "matter_version": names.version,
        "status": str(state.status), "variant": state.variant,
        "applicant": _brief(applicant) | {"agency": names.agency_name}, "form": state.form,
        "created_at": iso(case.created_at), "submitted_at": iso(state.submitted_at), "due_at": iso(state.due_at),
        "finished_at": iso(state.finished_at), "return_count": state.return_count,
        "steps": [{
            "index": s.index, "name": s.name, "kind": s.kind, "mode": s.mode, "status": str(s.status), "note": s.note,
            "parallel": bool(s.spec.get("branches")), "time_limit": s.time_limit,
            "started_at": iso(s.started_at), "due_at": iso(s.due_at), "finished_at": iso(s.finished_at),
            "on_time": None if not (s.finished_at and s.due_at) else s.finished_at <= s.due_at,
            "applies": s.spec.get("applies", True),
            "not_applied": (s.spec.get("not_applied") or {}).get("text"),
            "planned": [who(uid) | {"branch": lane.get("name") if s.spec.get("branches") else None}
                        for lane in (s.spec.get("branches") or [s.spec]) for uid in lane.get("approvers", [])],
            "skipped": [sk | who(sk["uid"]) for sk in s.spec.get("skipped", [])] + [
                sk | who(sk["uid"]) | {"branch": b["name"]}
                for b in s.spec.get("branches", []) for sk in b.get("skipped", [])],
            "tasks": [_task_json(t, people) for t in by_step.get(s.id, [])],
            "waiting_for_admin": any(t.assignee_id is None and t.status == OPEN_TASK for t in by_step.get(s.id, [])),
        } for s in steps],
        "obligations": [_task_json(t, people) for t in by_step.get(None, []) if t.kind == "obligation"],
        "cc": [{"uid": people[c.person_id].uid, "name": people[c.person_id].name, "at": iso(c.created_at)}
               for c in cc if c.person_id in people],
        "attachments": [{"id": a.id, "material": a.material, "filename": a.filename, "content_type": a.content_type,
                         "kind": a.kind, "size": a.size, "sha256": a.sha256, "uploaded_at": iso(a.uploaded_at),
                         "withdrawn": a.superseded}
                        for a in attachments],
        "deferred_materials": [{"material": m.material, "status": m.status, "commitment": m.commitment,
                                "due_at": iso(m.due_at), "supplied_at": iso(m.supplied_at)} for m in materials],
        "revisions": [{"number": r.number, "diff": r.diff, "at": iso(r.created_at)} for r in revisions],
        "record": record_json(record, case.id),
        "my_tasks": [{"id": t.id, "kind": str(t.kind), "blocked": t.blocked_by_task_id is not None} for t in mine],
    }
    if caps is not None:
        data["capabilities"] = caps.to_json()
        if viewer.id == state.applicant_id:
            data["can_withdraw"], data["can_resubmit"], data["can_remind"] = (caps.withdraw_case, caps.resubmit,
                                                                              caps.remind)
    return data


CASE_COLUMNS = (Case.id.label("case_id"), Case.number, Case.title, Case.status.label("case_status"),
                Case.due_at.label("case_due_at"), Case.updated_at)
"""What an inbox row shows of a case: never the form or plan documents."""


def _has_delegations():
    """Whether any delegation in force at ``now`` could let ``person`` act for someone: one given
    to them, or one given by someone they manage (who stands in for an applicant-delegate). An
    uncorrelated subquery the inbox statements carry, so that only a person it concerns pays for
    working out which tasks (:func:`internal_affairs.delegation.queries.delegated_task_ids`)."""
    person, now = bindparam("person", type_=Integer), bindparam("now", type_=DateTime)
    reports = select(Person.id).where(Person.manager_id == person).scalar_subquery()
    return exists().where(in_force(now),
                          or_(Delegation.delegate_id == person, Delegation.principal_id.in_(reports)))


def _todo_holder(person, delegated: bool):
    """The todo condition on whose the task is: the person's, or (``delegated``) one of the
    tasks listed in ``delegated`` that the person may act on for its holder."""
    if not delegated:
        return Task.assignee_id == person
    return or_(Task.assignee_id == person, Task.id.in_(bindparam("delegated", expanding=True)))


@lru_cache(maxsize=None)
def _box_statement(box: str, searching: bool, admin: bool = False, delegated: bool = False):
    """The page statement of a box, built once per process (parameters: ``person``, ``like``,
    ``limit``, ``offset``); building a select costs more than running this one. Each row also
    carries the counts of every box (``count_<box>``, uncorrelated subqueries the database runs
    once), so a page and its badges are one statement. An ``admin``'s todo box also holds the
    error tasks waiting for an administrator, except on their own cases."""
    applicant = aliased(Person)
    person = bindparam("person", type_=Integer)
    if box in ("todo", "done"):
        reminded = (select(func.max(Reminder.created_at)).where(Reminder.task_id == Task.id)
                    .correlate(Task).scalar_subquery())
        stmt = (select(Task.id, Task.kind, Task.status, Task.branch, Task.decision, Task.due_at, Task.decided_at,
                       Task.blocked_by_task_id, Task.assignee_id, *CASE_COLUMNS, MatterType.name.label("matter_name"),
                       applicant.name.label("applicant_name"), reminded.label("reminded_at"))
                .join(Case, Case.id == Task.case_id).join(MatterType, MatterType.id == Case.matter_type_id)
                .join(applicant, applicant.id == Case.applicant_id))
        if box == "todo" and admin:
            stmt = stmt.where(Task.status == OPEN_TASK, or_(
                _todo_holder(person, delegated), and_(Task.assignee_id.is_(None), Case.applicant_id != person)))
            order = (Task.due_at.asc().nulls_last(), Task.id)
        elif box == "todo":
            stmt = stmt.where(_todo_holder(person, delegated), Task.status == OPEN_TASK)
            order = (Task.due_at.asc().nulls_last(), Task.id)  # served by ix_task_assignee_status
        else:
            stmt = stmt.where(Task.acted_by_id == person)
            order = (Task.decided_at.desc(), Task.id.desc())
    else:
        stmt = (select(*CASE_COLUMNS, MatterType.name.label("matter_name"), applicant.name.label("applicant_name"))
                .join(MatterType, MatterType.id == Case.matter_type_id)
                .join(applicant, applicant.id == Case.applicant_id))
        if box == "mine":
            stmt = stmt.where(Case.applicant_id == person)
        else:
            stmt = stmt.join(CaseCC, and_(CaseCC.case_id == Case.id, CaseCC.person_id == person))
        order = (Case.updated_at.desc(), Case.id.desc())
    total = None
    if searching:
        like = bindparam("like", type_=String)
        stmt = stmt.where(or_(Case.number.like(like), Case.title.like(like), applicant.name.like(like)))
        total = select(func.count()).select_from(stmt.subquery())
    names, counts = _count_queries(box == "done", admin, delegated)
    page = (stmt.add_columns(*(q.correlate(None).scalar_subquery().label(f"count_{n}") for n, q in zip(names, counts)),
                             _has_delegations().label("has_delegations"))
            .order_by(*order).limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    return page, total


def get_inbox(person: Person, box: str, *, limit: int, offset: int,
              query: str | None = None) -> tuple[list[dict[str, Any]], int, dict[str, int]]:
    """One page of a box, its total, and the counts of every box. Raises :class:`BadRequest`."""
    if box not in BOXES:
        raise BadRequest(f"box must be one of {', '.join(BOXES)}", code="bad_box")
    admin = is_system_admin(person)
    now = utcnow()
    params: dict[str, Any] = {"person": person.id, "limit": limit, "offset": offset, "now": now}
    if query:
        params["like"] = f"%{query.replace('%', '').replace('_', '')[:100]}%"
    page, total_stmt = _box_statement(box, bool(query), admin)
    rows = db.session.execute(page, params).all()
    has = rows[0]._mapping["has_delegations"] if rows else None
    counts = None
    if not rows:  # an empty page carries no counts
        counts, has = _counts(person, with_done=box == "done", now=now)
    delegated: dict[int, int] = {}
    if has:
        from ..delegation.queries import delegated_task_ids

        delegated = delegated_task_ids(person, now)
        if delegated:
            params["delegated"] = sorted(delegated)
            page, total_stmt = _box_statement(box, bool(query), admin, True)
            rows = db.session.execute(page, params).all()
            counts = None if rows else _counts(person, with_done=box == "done", now=now, delegated=delegated)[0]
    if counts is None:
        counts = dict.fromkeys(BOXES)
        counts.update({b: rows[0]._mapping[f"count_{b}"]
                       for b in _count_queries(box == "done", admin, bool(delegated))[0]})
    total = db.session.execute(total_stmt, params).scalar() if query else counts[box]
    holders = {}
    if delegated and box == "todo":
        wanted = sorted({delegated[r._mapping["id"]] for r in rows if r._mapping["id"] in delegated})
        if wanted:
            holders = {p.id: p for p in db.session.execute(select(Person.id, Person.uid, Person.name)
                                                           .where(Person.id.in_(wanted)))}
    items = []
    tasks = box in ("todo", "done")
    for row in rows:
        m = row._mapping
        item = {"case_id": m["case_id"], "number": m["number"], "title": m["title"], "matter_name": m["matter_name"],
                "applicant_name": m["applicant_name"], "status": m["case_status"], "due_at": iso(m["case_due_at"]),
                "updated_at": iso(m["updated_at"])}
        if tasks:
            item["task"] = {"id": m["id"], "kind": m["kind"], "status": m["status"], "branch": m["branch"],
                            "decision": m["decision"], "due_at": iso(m["due_at"]), "decided_at": iso(m["decided_at"]),
                            "blocked": m["blocked_by_task_id"] is not None, "reminded_at": iso(m["reminded_at"]),
                            "overdue": bool(m["due_at"] and m["status"] == OPEN_TASK and now > m["due_at"])}
            holder = holders.get(m["assignee_id"]) if m["id"] in delegated else None
            item["task"]["on_behalf_of"] = {"uid": holder.uid, "name": holder.name} if holder else None
            item["task"]["on_behalf_label"] = f"代 {holder.name}" if holder else None
        items.append(item)
    return items, total, counts


@lru_cache(maxsize=None)
def _count_queries(with_done: bool, admin: bool = False, delegated: bool = False):
    """The box names and one count query each (parameter ``person``); ``done`` only on request;
    an ``admin``'s todo count includes the error tasks waiting for an administrator, and with
    ``delegated`` the todo count includes the tasks listed in ``delegated``."""
    person = bindparam("person", type_=Integer)
    todo = select(func.count()).select_from(Task).where(_todo_holder(person, delegated), Task.status == OPEN_TASK)
    if admin:
        waiting = (select(func.count()).select_from(Task).join(Case, Case.id == Task.case_id)
                   .where(Task.assignee_id.is_(None), Task.status == OPEN_TASK, Case.applicant_id != person))
        todo = select(todo.correlate(None).scalar_subquery() + waiting.correlate(None).scalar_subquery())
    boxes = {
        "todo": todo,
        "done": select(func.count()).select_from(Task).where(Task.acted_by_id == person),
        "mine": select(func.count()).select_from(Case).where(Case.applicant_id == person),
        "cc": select(func.count()).select_from(CaseCC).where(CaseCC.person_id == person),
    }
    if not with_done:
        del boxes["done"]
    return tuple(boxes), tuple(boxes.values())


@lru_cache(maxsize=None)
def _counts_statement(with_done: bool, admin: bool = False, delegated: bool = False):
    names, queries = _count_queries(with_done, admin, delegated)
    return names, select(*(q.scalar_subquery() for q in queries), _has_delegations().label("has_delegations"))


def _counts(person: Person, *, with_done: bool, now: datetime,
            delegated: dict[int, int] | None = None) -> tuple[dict[str, int | None], bool]:
    """The box counts (with the ``delegated`` tasks in todo) and whether a delegation concerns
    ``person``, in one statement."""
    names, stmt = _counts_statement(with_done, is_system_admin(person), bool(delegated))
    params: dict[str, Any] = {"person": person.id, "now": now}
    if delegated:
        params["delegated"] = sorted(delegated)
    row = db.session.execute(stmt, params).one()
    counts: dict[str, int | None] = dict.fromkeys(BOXES)
    counts.update(zip(names, row[:len(names)]))
    return counts, bool(row[len(names)])


def get_counts(person: Person, *, with_done: bool = True) -> dict[str, int | None]:
    """Open todo tasks (the person's own and those they may act on for someone, 代理), own
    cases, CC'd cases and (``with_done``) decided tasks: one statement, and two more only for a
    person a delegation in force concerns.

    The done box grows without bound for busy approvers, so pages that only need the todo badge
    leave it out (``None``)."""
    now = utcnow()
    counts, has = _counts(person, with_done=with_done, now=now)
    if has:
        from ..delegation.queries import delegated_task_ids

        delegated = delegated_task_ids(person, now)
        if delegated:
            counts = _counts(person, with_done=with_done, now=now, delegated=delegated)[0]
    return counts
