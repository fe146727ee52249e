"""Writing what an action changed of a case: the case, its steps and tasks, and the new tasks.

An action on a case (a task action reads it under lock) changes a few columns of a few of its
rows in memory and adds a few tasks. The ORM's unit of work would discover those changes, sort
the tables by their dependencies and write them; for these few rows that bookkeeping cost more
than the writes (more than a quarter of a decision's time in the worker). :func:`write_case` takes each row's
changed columns from its own attribute state, writes them with one statement per table and set of
columns (built once per process; several rows of one table go as one executemany), inserts the
new tasks in one statement that returns their ids, and then marks every row as written, so the
session holds exactly what the database holds.

Anything else the session holds pending (a CC entry, a reminder, a change through a
relationship) is left to the ORM's flush, which runs after these writes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, inspect, insert, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from .models import Case, CaseStep, Task

__all__ = ["write_case"]

_STEP_STATE = frozenset({"status", "note", "started_at", "due_at", "finished_at"})
"""A changed step's state is written whole, so that the steps one action moves on (one finished,
the next started) share one statement."""


@lru_cache(maxsize=None)
def _columns(model: type) -> dict[str, Any]:
    """The mapped columns of ``model`` by attribute key."""
    return {prop.key: prop.columns[0] for prop in inspect(model).column_attrs}


@lru_cache(maxsize=256)
def _update(model: type, keys: frozenset[str], guarded: bool):
    """``UPDATE <table> SET <keys> WHERE id = :_id`` (and, ``guarded``, ``AND version = :_version``)."""
    table = inspect(model).local_table
    stmt = update(table).where(table.c.id == bindparam("_id"))
    if guarded:
        stmt = stmt.where(table.c.version == bindparam("_version"))
    return stmt.values({_columns(model)[key].name: bindparam(key) for key in sorted(keys)})


@lru_cache(maxsize=None)
def _insert_tasks():
    table = inspect(Task).local_table
    return insert(table).returning(table.c.id, sort_by_parameter_order=True)


def _changed(obj: Any, model: type) -> tuple[set[str], set[str]]:
    """The column keys and the other (relationship) keys of ``obj`` assigned since it was read."""
    state = inspect(obj)
    changed = set(state.mapper.attrs.keys()) - state.unmodified
    columns = _columns(model)
    return {k for k in changed if k in columns}, {k for k in changed if k not in columns}


def _mark_written(obj: Any) -> None:
    """Tell the session ``obj``'s values are the database's now (what the end of a flush does)."""
    state = inspect(obj)
    state._commit_all(state.dict, state.session.identity_map)  # noqa: SLF001 - the flush's own step


def _default(column) -> Any:
    """The value an INSERT gives a column the new row does not set (the model's scalar default)."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise TypeError(f"{column} has a computed default; set it when the row is made")
    return default.arg


def write_case(case: Case) -> None:
    """Write ``case``'s pending changes, its steps' and its tasks', and insert its new tasks.

    The case's row is written first, guarded by the version it was read with: when it changed
    meanwhile nothing is written and :class:`StaleDataError` is raised (the caller's ``atomic``
    turns it into a 409). Falls back to the ORM's flush for a case or steps not yet inserted and
    for a change it does not write itself (a reassigned relationship)."""
    session = db.session()
    if not inspect(case).persistent or any(inspect(step).pending for step in case.__dict__.get("steps", ())):
        session.flush()  # a case or steps being created (submission): the ORM inserts them
        return
    case_columns, case_other = _changed(case, Case)
    if case_other - {"tasks", "steps"}:
        session.flush()
        return
    writes: list[tuple[type, Any, set[str]]] = []
    for model, key in ((CaseStep, "steps"), (Task, "tasks")):
        for row in case.__dict__.get(key, ()):  # a collection never loaded has nothing to write
            if inspect(row).persistent:
                columns, other = _changed(row, model)
                if other:
                    session.flush()
                    return
                if columns:
                    if model is CaseStep and _STEP_STATE <= row.__dict__.keys():
                        columns |= _STEP_STATE
                    writes.append((model, row, columns))
    if case_columns:
        old_version = inspect(case).attrs.version.history.deleted
        guarded = "version" in case_columns and bool(old_version)
        params = {key: getattr(case, key) for key in case_columns} | {"_id": case.id}
        if guarded:
            params["_version"] = old_version[0]
        result = session.execute(_update(Case, frozenset(case_columns), guarded), params)
        if result.rowcount != 1:
            raise StaleDataError(f"case {case.id} changed since it was read")
    batches: dict[tuple[type, frozenset[str]], list[dict[str, Any]]] = {}
    for model, row, columns in writes:
        batches.setdefault((model, frozenset(columns)), []).append(
            {key: row.__dict__[key] for key in columns} | {"_id": row.id})
    for (model, keys), params in batches.items():
        session.execute(_update(model, keys, False), params)
    _insert_new_tasks(session, case)
    for _model, row, _columns_ in writes:
        _mark_written(row)
    _mark_written(case)


def _insert_new_tasks(session, case: Case) -> None:
    new = [t for t in case.__dict__.get("tasks", ()) if inspect(t).pending]
    if not new:
        return
    columns = _columns(Task)
    rows = []
    for task in new:
        if "case_id" not in task.__dict__:
            task.case_id = case.id
        if "step_id" not in task.__dict__:
            task.step_id = task.step.id if task.step is not None else None
        rows.append({column.name: (task.__dict__[key] if key in task.__dict__ else _default(column))
                     for key, column in columns.items() if key != "id"})
    ids = session.execute(_insert_tasks(), rows).scalars().all()
    for task, row, task_id in zip(new, rows, ids):
        session.expunge(task)
        for key, column in columns.items():
            if key != "id" and key not in task.__dict__:
                setattr(task, key, row[column.name])
        task.id = task_id
        make_transient_to_detached(task)
        session.add(task)
