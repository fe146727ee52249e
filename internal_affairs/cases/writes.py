"""Between the case's rows and the engine: the state read from the rows, and the change an engine
command made written back, with public SQLAlchemy only.

:func:`to_state` turns a loaded case, its steps and its tasks into the engine's plain state.
:func:`write_changes` compares the state a command returned with the one it was given and writes
the difference: the case's row first, with ``UPDATE … WHERE id = :id AND version = <read>`` (a
row count of 0 means another action moved the case on since it was read: nothing is written and
:class:`StaleStateError` (409) is raised), then the changed steps and tasks with one Core UPDATE
per table and set of columns (several rows in one statement, see :func:`_update`), and the new
steps and tasks with one INSERT … RETURNING id each. On PostgreSQL the usual decision (no new
step, no changed row referring to a new one) writes all of it in one statement of data-modifying
CTEs (:func:`_write_together`): one round trip instead of four. Task
rows are not guarded by their own ``version``: a task changes only together with its case's
guarded version bump, in the same transaction, under the case's row lock. The loaded case and
the rows that changed, where the session holds them, are then told what the database now holds
(:func:`set_committed_value`); no objects are made for the new rows: the case's ``steps`` or
``tasks`` are expired instead, read again only if something asks, and the case document of the
answer is built from the engine's state (:func:`with_ids`).
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from functools import lru_cache
from typing import Any, Iterable, Mapping

from sqlalchemy import Integer, bindparam, case, func, insert, inspect, literal, select, union_all, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..errors import StaleStateError
from ..extensions import db
from . import engine
from .models import Case, CaseStep, Task

__all__ = ["to_state", "write_changes", "resolve_ids", "with_ids"]

CASE_FIELDS = ("status", "form", "plan", "title", "number", "variant", "current_step", "returned_from_step",
               "return_count", "submitted_at", "due_at", "finished_at", "updated_at", "version")
STEP_FIELDS = ("index", "name", "kind", "mode", "status", "spec", "note", "time_limit", "started_at", "due_at",
               "finished_at", "progress")
TASK_FIELDS = ("case_id", "step_id", "branch", "kind", "origin", "position", "assignee_id", "status", "acted_by_id",
               "on_behalf_of_id", "decision", "comment", "note", "parent_task_id", "blocked_by_task_id",
               "closed_by_task_id", "obligation_code", "created_at", "due_at", "decided_at", "version")
_STEP_STATE = frozenset({"status", "note", "started_at", "due_at", "finished_at", "progress"})
"""A changed step's state is written whole, so that the steps one action moves on (one finished,
the next started) share one statement."""
_TASK_REFS = ("step_id", "parent_task_id", "blocked_by_task_id", "closed_by_task_id")


def _task_state(t: Task) -> engine.Task:
    return engine.Task(
        id=t.id, case_id=t.case_id, step_id=t.step_id, kind=engine.TaskKind(t.kind), status=engine.TaskStatus(t.status),
        created_at=t.created_at, branch=t.branch, origin=t.origin, position=t.position, assignee_id=t.assignee_id,
        acted_by_id=t.acted_by_id, on_behalf_of_id=t.on_behalf_of_id, decision=t.decision, comment=t.comment,
        note=t.note, parent_task_id=t.parent_task_id, blocked_by_task_id=t.blocked_by_task_id,
        closed_by_task_id=t.closed_by_task_id, obligation_code=t.obligation_code, due_at=t.due_at,
        decided_at=t.decided_at, version=t.version)


def _step_state(s: CaseStep) -> engine.Step:
    return engine.Step(id=s.id, index=s.index, name=s.name, kind=s.kind, mode=s.mode,
                       status=engine.StepStatus(s.status), spec=s.spec, time_limit=s.time_limit, note=s.note,
                       started_at=s.started_at, due_at=s.due_at, finished_at=s.finished_at,
                       progress=engine.Progress.from_json(s.progress))


def to_state(case: Case) -> engine.Case:
    """The engine's state of ``case`` as loaded (its steps and tasks are read if they were not)."""
    return engine.Case(
        id=case.id, applicant_id=case.applicant_id, status=engine.CaseStatus(case.status), version=case.version,
        updated_at=case.updated_at, form=case.form, plan=case.plan, title=case.title, number=case.number,
        variant=case.variant, current_step=case.current_step, returned_from_step=case.returned_from_step,
        return_count=case.return_count, submitted_at=case.submitted_at, due_at=case.due_at,
        finished_at=case.finished_at, steps=[_step_state(s) for s in case.steps],
        tasks=[_task_state(t) for t in case.tasks])


def _stored(key: str, value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if key == "progress":
        return value.to_json()
    return value


def _changes(before: Any, after: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {k: _stored(k, getattr(after, k)) for k in fields if getattr(after, k) != getattr(before, k)}


def _update_suffixed(model: type, keys: frozenset[str], rows: int, prefix: str = "", *where: Any):
    """The UPDATE of ``rows`` rows of ``model`` (on those ``where`` also holds for), its parameters
    ``<prefix><key>_<row>`` and ``<prefix>_id_<row>`` (see :func:`_suffixed`): ``SET <key> =
    :<key>_0 WHERE id = :_id_0`` for one row; for several, one statement ``SET <key> = CASE id WHEN
    :_id_0 THEN :<key>_0 … END … WHERE id IN (:_id_0, …)`` (an executemany would cost PostgreSQL
    three round trips)."""
    table = inspect(model).local_table
    columns = inspect(model).columns
    ids = [bindparam(f"{prefix}_id_{i}", type_=table.c.id.type) for i in range(rows)]

    def value(key: str, i: int):
        return bindparam(f"{prefix}{key}_{i}", type_=columns[key].type)

    if rows == 1:
        return update(table).where(table.c.id == ids[0], *where).values(
            {columns[key].name: value(key, 0) for key in sorted(keys)})
    return update(table).where(table.c.id.in_(ids), *where).values({
        columns[key].name: case({ids[i]: value(key, i) for i in range(rows)}, value=table.c.id)
        for key in sorted(keys)})


@lru_cache(maxsize=256)
def _update(model: type, keys: frozenset[str], rows: int):
    """:func:`_update_suffixed` built once per process, set of columns and number of rows."""
    return _update_suffixed(model, keys, rows)


def _suffixed(rows: list[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}{key}_{i}": value for i, row in enumerate(rows) for key, value in row.items()}


@lru_cache(maxsize=256)
def _write_together(case_keys: frozenset[str], steps: tuple[tuple[frozenset[str], int], ...],
                    tasks: tuple[tuple[frozenset[str], int], ...], new_tasks: int, fields: tuple[str, ...]):
    """PostgreSQL: the case's guarded UPDATE, the UPDATEs of its changed steps and tasks and the
    INSERT of ``new_tasks`` new tasks (``fields``, every column but the id) as one statement
    (data-modifying CTEs), answering how many case rows it moved on (0 or 1) and the new tasks'
    ids. The other parts change nothing unless the case's UPDATE did (they read its RETURNING).
    The new rows are inserted ordered by their place in the parameters, so their ids, sorted,
    are in that order (the sequence hands them out as the rows come). No parameter is named as a
    column (``c_<key>``, ``s<n><key>_<row>``, ``t<n><key>_<row>``, ``n<key>_<row>``): Core would
    take such a parameter for a column to set in every UPDATE of a table that has it."""
    moved = _update_case(case_keys).returning(inspect(Case).local_table.c.id).cte("moved")
    gate = select(moved.c.id).exists()
    parts = [_update_suffixed(CaseStep, keys, rows, f"s{n}", gate).cte(f"s{n}") for n, (keys, rows) in enumerate(steps)]
    parts += [_update_suffixed(Task, keys, rows, f"t{n}", gate).cte(f"t{n}") for n, (keys, rows) in enumerate(tasks)]
    answer = [select(func.count()).select_from(moved).scalar_subquery()]
    if new_tasks:
        tasks_table, columns = inspect(Task).local_table, inspect(Task).columns
        names = [columns[key].name for key in fields]
        rows = [select(*(bindparam(f"n{key}_{i}", type_=columns[key].type).label(columns[key].name) for key in fields),
                       literal(i, Integer).label("row_")) for i in range(new_tasks)]
        source = (union_all(*rows) if new_tasks > 1 else rows[0]).subquery("new_rows")
        inserted = (insert(tasks_table).from_select(names, select(*(source.c[name] for name in names))
                                                    .where(gate).order_by(source.c.row_))
                    .returning(tasks_table.c.id).cte("inserted"))
        answer.append(select(func.array_agg(inserted.c.id)).scalar_subquery())
    return select(*answer).add_cte(*parts)


@lru_cache(maxsize=8)
def _every_column_given(model: type, fields: tuple[str, ...]) -> bool:
    """Whether ``fields`` are all the columns of ``model`` but its id (none is left to a default)."""
    return {prop.key for prop in inspect(model).column_attrs} - {"id"} <= set(fields)


_ROWS_PER_UPDATE = 32


def _update_rows(model: type, keys: frozenset[str], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (each the values of ``keys`` and its ``_id``), up to 32 in one statement."""
    for start in range(0, len(rows), _ROWS_PER_UPDATE):
        chunk = rows[start:start + _ROWS_PER_UPDATE]
        db.session.execute(_update(model, keys, len(chunk)), _suffixed(chunk))


@lru_cache(maxsize=64)
def _update_case(keys: frozenset[str]):
    """The case's guarded UPDATE, its parameters ``c_<key>``, ``_id`` and ``_version``."""
    table = inspect(Case).local_table
    return (update(table).where(table.c.id == bindparam("_id"), table.c.version == bindparam("_version"))
            .values({key: bindparam(f"c_{key}") for key in sorted(keys)}))


def resolve_ids(data: Mapping[str, Any], ids: Mapping[int, int]) -> dict[str, Any]:
    """``data`` (an engine event's) with the new rows' engine ids replaced by their ids."""
    return {k: _resolve(v, ids) if k != "case_id" else v for k, v in data.items()}


@lru_cache(maxsize=8)
def _insert(model: type):
    """``INSERT INTO <table> (<the columns given>) VALUES … RETURNING id``: one statement for a
    set of new rows (executemany as one multi-row INSERT), their ids in the order given."""
    table = inspect(model).local_table
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


@lru_cache(maxsize=8)
def _null_by_default(model: type) -> frozenset[str]:
    """The columns of ``model`` that are NULL when an INSERT leaves them out (nullable, no default)."""
    return frozenset(prop.key for prop in inspect(model).column_attrs for col in prop.columns
                     if col.nullable and col.default is None and col.server_default is None)


def _insert_rows(model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (values by attribute name); returns their ids in order. A None for a
    column that is NULL by default is left out of the INSERT, which keeps the statement short;
    rows with the same columns go in one statement."""
    columns, nulls = inspect(model).columns, _null_by_default(model)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(k for k, v in row.items() if v is not None or k not in nulls), []).append(i)
    ids: list[int] = [0] * len(rows)
    for keys, members in groups.items():
        params = [{columns[k].name: rows[i][k] for k in keys} for i in members]
        for i, new_id in zip(members, db.session.scalars(_insert(model), params).all()):
            ids[i] = new_id
    return ids


def _is_new(value: Any) -> bool:
    """Whether ``value`` is an engine id of a row not yet inserted (negative)."""
    return isinstance(value, int) and not isinstance(value, bool) and value < 0


def _resolve(value: Any, ids: Mapping[int, int]) -> Any:
    return ids.get(value, value) if _is_new(value) else value


def _groups(updates: list[dict[str, Any]]) -> dict[frozenset[str], list[dict[str, Any]]]:
    """Row updates (values and ``_id``) grouped by the columns they set."""
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for values in updates:
        groups.setdefault(frozenset(values) - {"_id"}, []).append(values)
    return groups


def _new_task_values(t: engine.Task, ids: Mapping[int, int]) -> dict[str, Any]:
    """A new task's columns, its references to new steps (already inserted) resolved."""
    values = {k: _stored(k, getattr(t, k)) for k in TASK_FIELDS}
    for ref in _TASK_REFS:
        if _is_new(values[ref]) and values[ref] not in ids:
            raise AssertionError("a new task refers to a newer one")  # the engine never does
        values[ref] = _resolve(values[ref], ids)
    return values


def _refers_to_new(values: Mapping[str, Any]) -> bool:
    return any(_is_new(values.get(ref)) for ref in _TASK_REFS)


def write_changes(case: Case, before: engine.Case, after: engine.Case) -> dict[int, int]:
    """Write what changed of ``case`` from ``before`` (as it was read) to ``after`` (as an engine
    command left it). Returns the ids the new steps and tasks got, by their engine ids (see
    :func:`resolve_ids`). Raises :class:`StaleStateError` when the case changed since it was read.

    On PostgreSQL, when the command made no new step and no changed row refers to a new one (the
    usual decision), the case's, the steps' and the tasks' UPDATEs and the new tasks' INSERT go as
    one statement (:func:`_write_together`)."""
    session = db.session()
    ids: dict[int, int] = {}
    changed = _changes(before, after, CASE_FIELDS)
    old_steps = {s.id: s for s in before.steps}
    old_tasks = {t.id: t for t in before.tasks}
    step_updates: list[dict[str, Any]] = []
    for step in after.steps:
        if step.id < 0:
            continue
        values = _changes(old_steps[step.id], step, STEP_FIELDS)
        if values:
            if _STEP_STATE & values.keys():
                values |= {k: _stored(k, getattr(step, k)) for k in _STEP_STATE}
            step_updates.append(values | {"_id": step.id})
    task_updates = [values | {"_id": task.id} for task in after.tasks if task.id > 0
                    for values in (_changes(old_tasks[task.id], task, TASK_FIELDS),) if values]
    new_steps = [s for s in after.steps if s.id < 0]
    new_tasks = [t for t in after.tasks if t.id < 0]
    together = (changed and not new_steps and session.get_bind().dialect.name == "postgresql"
                and not any(_refers_to_new(values) for values in task_updates)
                and all(len(rows) <= _ROWS_PER_UPDATE for rows in (step_updates, task_updates)))
    insert_together = bool(together and new_tasks and len(new_tasks) <= _ROWS_PER_UPDATE
                           and _every_column_given(Task, TASK_FIELDS))
    case_params = {f"c_{key}": value for key, value in changed.items()} | {"_id": case.id, "_version": before.version}
    if together:
        steps, tasks = _groups(step_updates), _groups(task_updates)
        params = dict(case_params)
        for prefix, groups in (("s", steps), ("t", tasks)):
            for n, rows in enumerate(groups.values()):
                params |= _suffixed(rows, f"{prefix}{n}")
        if insert_together:
            params |= _suffixed([_new_task_values(t, ids) for t in new_tasks], "n")
        statement = _write_together(frozenset(changed), tuple((keys, len(rows)) for keys, rows in steps.items()),
                                    tuple((keys, len(rows)) for keys, rows in tasks.items()),
                                    len(new_tasks) if insert_together else 0, TASK_FIELDS if insert_together else ())
        moved, *inserted = session.execute(statement, params).one()
        if moved != 1:
            raise StaleStateError()
        if insert_together:
            ids.update(zip((t.id for t in new_tasks), sorted(inserted[0])))
    else:
        if changed and session.execute(_update_case(frozenset(changed)), case_params).rowcount != 1:
            raise StaleStateError()
        for keys, rows in _groups(step_updates).items():
            _update_rows(CaseStep, keys, rows)
    if new_steps:
        ids.update(zip((s.id for s in new_steps), _insert_rows(CaseStep, [
            {"case_id": case.id} | {k: _stored(k, getattr(s, k)) for k in STEP_FIELDS} for s in new_steps])))
    if new_tasks and not insert_together:
        ids.update(zip((t.id for t in new_tasks), _insert_rows(Task, [_new_task_values(t, ids) for t in new_tasks])))
    if not together:
        task_updates = [{k: _resolve(v, ids) if k in _TASK_REFS else v for k, v in values.items()}
                        for values in task_updates]
        for keys, rows in _groups(task_updates).items():
            _update_rows(Task, keys, rows)
    for key, value in changed.items():
        set_committed_value(case, key, value)
    synced = [(identity_key(CaseStep, values["_id"]), values) for values in step_updates] + [
        (identity_key(Task, values["_id"]), values) for values in task_updates]
    for key, values in synced:
        row = session.identity_map.get(key)
        if row is not None:  # a row this session holds is told what it now is
            for name, value in values.items():
                if name != "_id":
                    set_committed_value(row, name, value)
    stale = [name for name, new in (("steps", new_steps), ("tasks", new_tasks)) if new]
    if stale:
        session.expire(case, stale)  # read again (new rows included) should anything ask
    return ids


def with_ids(state: engine.Case, ids: Mapping[int, int]) -> engine.Case:
    """``state`` (as a command left it) with the new rows' engine ids replaced by the ids
    :func:`write_changes` gave them: the case as the database now holds it."""
    if not ids:
        return state

    def task(t: engine.Task) -> engine.Task:
        refs = {ref: getattr(t, ref) for ref in ("id",) + _TASK_REFS}
        if not any(_is_new(v) for v in refs.values()):
            return t
        return replace(t, **{k: _resolve(v, ids) for k, v in refs.items()})

    return replace(state, steps=[replace(s, id=ids[s.id]) if s.id < 0 else s for s in state.steps],
                   tasks=[task(t) for t in state.tasks])
