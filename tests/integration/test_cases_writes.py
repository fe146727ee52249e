"""The writer of the engine's changes (``cases/writes.py``) against the real database: after a task
action the session holds exactly what the database holds and nothing is left pending, and a case
that changed since it was read is refused before anything is written."""

from __future__ import annotations

import pytest
from sqlalchemy import ColumnDefault, inspect, select, text

from internal_affairs.cases import actions, engine, writes
from internal_affairs.cases.access import lock_case_of_task
from internal_affairs.cases.models import OPEN_TASK, Case, CaseStep, Task
from internal_affairs.cases.writes import to_state, write_changes
from internal_affairs.clock import utcnow
from internal_affairs.errors import StaleStateError
from internal_affairs.extensions import db
from internal_affairs.sqlite import write_intent
from internal_affairs.org.models import Person
from internal_affairs.org.queries import get_person_by_uid
from tests.support.app import PG_URL
from tests.support.cases import LEAVE, LEAVE_5
from tests.support.statements import counted


def _columns(model) -> list[str]:
    return [prop.key for prop in inspect(model).column_attrs]


def _stored(model, **where) -> dict[int, dict]:
    """Rows of ``model`` as the database has them, read on a connection of their own."""
    table = inspect(model).local_table
    stmt = select(table).where(*(table.c[k] == v for k, v in where.items()))
    with write_intent(False), db.engine.connect() as conn:  # a reader beside the session's writer
        return {row["id"]: dict(row) for row in conn.execute(stmt).mappings()}


def _held(obj, model) -> dict:
    return {key: obj.__dict__[key] for key in _columns(model)}


def _submit(uid: str, form: dict) -> Case:
    return actions.do_create_case("leave", form, applicant=get_person_by_uid(uid), now=utcnow(), submit=True)


def _open(case: Case, uid: str) -> Task:
    person = get_person_by_uid(uid)
    return next(t for t in case.tasks if t.assignee_id == person.id and t.status == OPEN_TASK)


def _as(uid: str) -> dict:
    return {"acting_user": get_person_by_uid(uid), "roles": set(), "now": utcnow()}


def _first(case: Case) -> int:
    return _open(case, "zhangwei").id


def _added_then_removed(case: Case) -> Case:
    actions.do_add_approver(_first(case), "guolei", position="before", comment="请先看", **_as("zhangwei"))
    added = next(t for t in case.tasks if t.origin == "added_before")
    return actions.do_remove_approver(added.id, **_as("zhangwei"))


def _approved_then_withdrawn(case: Case) -> Case:
    task_id = _first(case)
    actions.do_decide(task_id, "approve", comment="同意", **_as("zhangwei"))
    return actions.do_withdraw_decision(task_id, **_as("zhangwei"))


def _returned_to_the_first_step(case: Case) -> Case:
    case = actions.do_decide(_first(case), "approve", comment="同意", **_as("zhangwei"))
    hr = next(t for t in case.tasks if t.status == OPEN_TASK)
    return actions.do_decide(hr.id, "return", to_step=0, comment="请领导重新审批",
                             **_as(db.session.get(Person, hr.assignee_id).uid))


TASK_ACTIONS = {
    "approve, the next step starts": (LEAVE, lambda case: actions.do_decide(
        _first(case), "approve", comment="同意", **_as("zhangwei"))),
    "approve, the next in the chain": (LEAVE_5, lambda case: actions.do_decide(
        _first(case), "approve", comment="同意", **_as("zhangwei"))),
    "reject": (LEAVE, lambda case: actions.do_decide(_first(case), "reject", comment="不同意", **_as("zhangwei"))),
    "return to the applicant": (LEAVE, lambda case: actions.do_decide(
        _first(case), "return", comment="请补充", **_as("zhangwei"))),
    "return to an earlier step": (LEAVE, _returned_to_the_first_step),
    "transfer": (LEAVE, lambda case: actions.do_transfer(_first(case), "guolei", comment="请代办", **_as("zhangwei"))),
    "consult": (LEAVE, lambda case: actions.do_consult(_first(case), "guolei", comment="请提意见", **_as("zhangwei"))),
    "add an approver before": (LEAVE, lambda case: actions.do_add_approver(
        _first(case), "guolei", position="before", **_as("zhangwei"))),
    "add an approver after": (LEAVE, lambda case: actions.do_add_approver(
        _first(case), "guolei", position="after", **_as("zhangwei"))),
    "remove an added approver": (LEAVE, _added_then_removed),
    "withdraw a decision": (LEAVE_5, _approved_then_withdrawn),
}


@pytest.mark.parametrize("name", TASK_ACTIONS)
def test_a_task_action_leaves_the_session_clean_and_equal_to_the_database(catalog_app, name):
    form, act = TASK_ACTIONS[name]
    with catalog_app.app_context():
        case = act(_submit("xujing", form))
        assert all(t.id for t in case.tasks), "new tasks were inserted with their ids"
        assert not db.session.dirty and not db.session.new
        for obj in (case, *case.steps, *case.tasks):
            state = inspect(obj)
            assert state.persistent and not state.modified and not state.expired_attributes
        with counted(catalog_app) as statements:
            held_tasks = {t.id: _held(t, Task) for t in case.tasks}
            held_steps = {s.id: _held(s, CaseStep) for s in case.steps}
            held_case = _held(case, Case)
        assert statements == [], "every column of every row is loaded: nothing to read back"
        assert held_tasks == _stored(Task, case_id=case.id)
        assert held_steps == _stored(CaseStep, case_id=case.id)
        assert held_case == _stored(Case, id=case.id)[case.id]


def _locked_at_first_step(form: dict) -> tuple[Case, Task]:
    """A fresh leave's case as a task action reads it, and the first approver's task."""
    task_id = _open(_submit("xujing", form), "zhangwei").id
    db.session.commit()
    case = lock_case_of_task(task_id, utcnow())
    return case, next(t for t in case.tasks if t.id == task_id)


def test_a_case_changed_since_it_was_read_is_refused_before_anything_is_written(catalog_app):
    with catalog_app.app_context():
        case, task = _locked_at_first_step(LEAVE_5)
        task_id, leader = task.id, get_person_by_uid("zhangwei")
        before = to_state(case)
        people = {p.uid: engine.Person(p.id, p.uid, p.name, p.active) for p in db.session.execute(
            select(Person).where(Person.uid.in_(engine.uids_named(before)))).scalars()}
        outcome = engine.decide(before, task_id, "approve", acting_user=engine.Actor(leader.id, leader.name), now=utcnow(),
                                env=engine.Env(people=people), comment="同意")
        assert len([t for t in outcome.case.tasks if t.id < 0]) == 1, "the next in the chain gets a task"
        # another writer moved the case on after this session read it
        db.session.execute(text('UPDATE "case" SET version = version + 1 WHERE id = :id'), {"id": case.id})
        with pytest.raises(StaleStateError) as refused:
            write_changes(case, before, outcome.case)
        assert refused.value.http_status == 409
        status = db.session.connection().execute(text("SELECT status FROM task WHERE id = :id"), {"id": task_id})
        assert status.scalar_one() == OPEN_TASK, "the task was not written"
        count = db.session.connection().execute(text("SELECT count(*) FROM task WHERE case_id = :id"), {"id": case.id})
        assert count.scalar_one() == 1, "no new task was inserted"
        db.session.rollback()


def test_the_engine_state_of_a_case_is_its_rows(catalog_app):
    """What the engine reads of a case is every column the writer may write."""
    with catalog_app.app_context():
        case, _task = _locked_at_first_step(LEAVE)
        state = to_state(case)
        assert [(s.id, str(s.status), s.spec) for s in state.steps] == [(s.id, s.status, s.spec) for s in case.steps]
        assert [(t.id, str(t.status), t.assignee_id) for t in state.tasks] == [
            (t.id, t.status, t.assignee_id) for t in case.tasks]
        db.session.rollback()


def test_new_tasks_get_their_columns_defaults_a_callable_one_too(catalog_app, monkeypatch):
    """A task column the engine does not write (as a column added with ``default=utcnow`` would
    be) gets its mapped default when the writer inserts a task, a callable default included, and
    the task is then decided as any other: the writer leaves defaults to SQLAlchemy's INSERT."""
    calls = []

    def default_comment():
        calls.append(1)
        return "由默认值填写"

    monkeypatch.setattr(writes, "TASK_FIELDS", tuple(k for k in writes.TASK_FIELDS if k != "comment"))
    monkeypatch.setattr(Task.__table__.c.comment, "default", ColumnDefault(default_comment))
    with catalog_app.app_context():
        case = _submit("xujing", LEAVE)
        assert calls == [1], "the first task was inserted through the writer, with the default"
        first = _open(case, "zhangwei")
        case = actions.do_consult(first.id, "guolei", comment="请看", **_as("zhangwei"))
        asked = next(t for t in case.tasks if t.origin == "consult")
        assert len(calls) == 2
        stored = _stored(Task, case_id=case.id)
        assert stored[first.id]["comment"] == stored[asked.id]["comment"] == "由默认值填写"
        assert asked.comment == "由默认值填写", "the session holds the row as inserted"
        case = actions.do_decide(asked.id, "done", **_as("guolei"))
        case = actions.do_decide(first.id, "approve", **_as("zhangwei"))
        assert _stored(Task, id=first.id)[first.id]["status"] == "approved"


def test_a_none_left_out_of_the_insert_is_stored_as_null_and_a_default_still_applies(catalog_app, monkeypatch):
    """The writer leaves a None out of its INSERT only where the column is NULL by default; a
    nullable column with a default gets the None it was given, not the default."""
    monkeypatch.setattr(Task.__table__.c.note, "default", ColumnDefault("不该出现的默认值"))
    writes._null_by_default.cache_clear()
    try:
        with catalog_app.app_context():
            case = _submit("xujing", LEAVE)
            first = _open(case, "zhangwei")
            case = actions.do_consult(first.id, "guolei", **_as("zhangwei"))
            asked = next(t for t in case.tasks if t.origin == "consult")
            stored = _stored(Task, id=asked.id)[asked.id]
            assert stored["note"] is None and stored["comment"] is None and stored["decided_at"] is None
            assert stored["parent_task_id"] == first.id
    finally:
        writes._null_by_default.cache_clear()


@pytest.mark.parametrize("name", TASK_ACTIONS)
def test_the_answer_to_a_task_action_is_the_case_as_read_afterwards(catalog_app, name):
    """The case document of an action's answer is built from the state the engine wrote (no
    rows read back); read again in a fresh session it is the same document."""
    from internal_affairs.cases.access import access_case
    from internal_affairs.cases.queries import case_to_json

    form, act = TASK_ACTIONS[name]
    with catalog_app.app_context():
        viewer = get_person_by_uid("zhangwei")
        case = act(_submit("xujing", form))
        case_id, answered = case.id, case_to_json(case, viewer)
        db.session.remove()
        viewer = get_person_by_uid("zhangwei")
        assert case_to_json(access_case(case_id, viewer, set()), viewer) == answered


@pytest.mark.parametrize("rows_per_update", [32, 1])
def test_rows_an_action_changes_alike_are_written_in_one_statement(catalog_app, monkeypatch, rows_per_update):
    """The steps one action moves on (one finished, the next started) are written in one UPDATE,
    not an executemany (on PostgreSQL inside the one statement that also moves the case and its
    tasks on and inserts the new tasks); the same action written a row per statement leaves the
    same rows."""
    monkeypatch.setattr(writes, "_ROWS_PER_UPDATE", rows_per_update)
    form, act = TASK_ACTIONS["approve, the next step starts"]
    with catalog_app.app_context():
        case = _submit("xujing", form)
        before = {s.id: s.status for s in case.steps}
        with counted(catalog_app) as statements:
            case = act(case)
        moved = [s for s in case.steps if s.status != before[s.id]]
        assert len(moved) >= 2
        assert sum(s.count("UPDATE case_step") for s in statements) == (1 if rows_per_update > 1 else len(moved))
        if PG_URL and rows_per_update > 1:
            writes_ = [s for s in statements if s.lstrip().startswith(("WITH", "UPDATE", "INSERT INTO task"))]
            assert len(writes_) == 1 and all(part in writes_[0] for part in (
                'UPDATE "case"', "UPDATE case_step", "UPDATE task", "INSERT INTO task"))
        assert {s.id: _held(s, CaseStep) for s in case.steps} == _stored(CaseStep, case_id=case.id)
        assert {t.id: _held(t, Task) for t in case.tasks} == _stored(Task, case_id=case.id)
