"""Properties of the case engine under random sequences of commands by random people: no task is
lost, no step is decided twice, the applicant never decides their own case, and the case's
version only moves forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from internal_affairs.cases import engine
from internal_affairs.cases.engine import Actor, CaseStatus, Env, Person, Refusal, StepStatus, TaskKind, TaskStatus
from tests.support.engine import persist as _persist

T0 = datetime(2026, 12, 7, 9, 0)
APPLICANT = Person(1, "app", "申请人")
STAFF = [Person(10 + i, f"p{i}", f"人{i}") for i in range(5)]
EVERYONE = [APPLICANT, *STAFF]
PEOPLE = {p.uid: p for p in EVERYONE}
OB = engine.Obligation("back", "销假", None, 1)


class Clock:
    def due(self, start, days):
        return start + timedelta(days=int(days))

    def due_after_date(self, day, days):
        return datetime.combine(day, datetime.min.time()) + timedelta(days=days)


def env() -> Env:
    return Env(people=PEOPLE, deadlines=Clock(), obligations=lambda: (OB,))


uids = st.sampled_from([p.uid for p in EVERYONE])
lanes = st.fixed_dictionaries({"mode": st.sampled_from(["serial", "any", "all"]),
                               "approvers": st.lists(uids, min_size=0, max_size=3, unique=True)})


@st.composite
def plans(draw):
    steps = []
    for index in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["approve", "handle", "read"]))
        if draw(st.booleans()):
            branches = [{"name": f"b{i}", **draw(lanes)} for i in range(draw(st.integers(1, 3)))]
            steps.append({"name": f"s{index}", "kind": kind, "mode": "all", "branches": branches})
        else:
            steps.append({"name": f"s{index}", "kind": kind, **draw(lanes)})
    return {"steps": steps}


COMMANDS = ["decide", "decide", "decide", "approve", "reject", "return", "return_to", "done", "read", "transfer", "consult", "add_before",
            "add_after", "remove", "withdraw_decision", "withdraw_case", "resubmit"]
moves = st.lists(st.tuples(st.sampled_from(COMMANDS), st.sampled_from([-1, -1, -1, -1, -1, 0, 1, 2, 3, 4, 5]), st.integers(0, 30),
                           st.integers(0, len(EVERYONE) - 1), st.booleans()), max_size=25)
"""(command, who — negative: whoever the command suits, task pick, target person, a flag)."""


def _run(case: engine.Case, move, plan) -> engine.Outcome:
    command, who, pick, target, admin = move
    if command == "withdraw_decision":
        tasks = [t for t in case.tasks if t.acted_by_id is not None] or case.tasks
    elif command == "remove":
        tasks = [t for t in case.tasks if t.origin.startswith("added_")] or case.tasks
    else:
        tasks = [t for t in case.tasks if t.status == TaskStatus.PENDING] or case.tasks
    task = tasks[pick % len(tasks)] if tasks else None
    task_id = task.id if task else 1
    if who < 0 and command in ("withdraw_case", "resubmit"):
        person = APPLICANT
    elif who < 0 and task is not None:
        holder = {"withdraw_decision": task.acted_by_id,
                  "remove": case.task(task.parent_task_id).assignee_id if task.parent_task_id else None}.get(
            command, task.assignee_id)
        person = next((p for p in EVERYONE if p.id == holder), STAFF[0])
    else:
        person = EVERYONE[who]
    acting = Actor(person.id, person.name, admin or who < 0)
    other = EVERYONE[target]
    now = T0 + timedelta(minutes=pick)
    if command == "decide" and task is not None:
        allowed = engine.ALLOWED[task.kind]
        command = allowed[pick % len(allowed)]
    if command in ("decide", "approve", "reject", "return", "done", "read"):
        return engine.decide(case, task_id, "approve" if command == "decide" else command, acting_user=acting, now=now,
                             env=env(), comment="意见")
    if command == "return_to":
        return engine.decide(case, task_id, "return", acting_user=acting, now=now, env=env(), comment="意见", to_step=0)
    if command == "transfer":
        return engine.transfer(case, task_id, other, acting_user=acting, now=now)
    if command == "consult":
        return engine.consult(case, task_id, other, acting_user=acting, now=now)
    if command in ("add_before", "add_after"):
        return engine.add_approver(case, task_id, other, acting_user=acting, now=now, position=command[4:])
    if command == "remove":
        return engine.remove_approver(case, task_id, acting_user=acting, now=now, env=env())
    if command == "withdraw_decision":
        return engine.withdraw_decision(case, task_id, acting_user=acting, now=now, env=env())
    if command == "withdraw_case":
        return engine.withdraw_case(case, acting_user=acting, now=now)
    return engine.resubmit(case, case.form, title="t", acting_user=acting, now=now, env=env(), matter_restarts=admin,
                           resolve=lambda: (plan, None, {}), revision=1, changed=[])


def _check(before: engine.Case, after: engine.Case) -> None:
    steps = {s.id: s for s in after.steps}
    for task in after.tasks:
        if task.status == TaskStatus.PENDING:
            # nothing lost: every open task waits on an active step, or is an obligation, or an opinion
            # that an open task waits for
            step = steps.get(task.step_id)
            if task.kind == TaskKind.CONSULT:
                assert any(t.blocked_by_task_id == task.id and t.status == TaskStatus.PENDING for t in after.tasks), task
            else:
                assert task.kind == TaskKind.OBLIGATION or (step is not None and step.status == StepStatus.ACTIVE), task
            assert after.status in (CaseStatus.IN_PROGRESS, CaseStatus.APPROVED)
            if task.blocked_by_task_id is not None:
                # nothing stalls: a task waits only for a task that is itself still open
                blocker = next((t for t in after.tasks if t.id == task.blocked_by_task_id), None)
                assert blocker is not None and blocker.status == TaskStatus.PENDING, (task, blocker)
        if task.kind != TaskKind.OBLIGATION:
            assert task.assignee_id != after.applicant_id, "the applicant holds no task of their own case"
            if task.acted_by_id is not None:
                assert task.acted_by_id != after.applicant_id, "the applicant decides nothing on their own case"
    if after.status == CaseStatus.IN_PROGRESS:
        for step in after.steps:
            if step.status == StepStatus.ACTIVE:
                # an active step always has someone to act on it
                assert any(t.step_id == step.id and t.status == TaskStatus.PENDING and t.kind != TaskKind.CONSULT
                           for t in after.tasks), step
    old = {t.id: t for t in before.tasks}
    for task in after.tasks:
        was = old.get(task.id)
        if was is not None and was.status != TaskStatus.PENDING and was.decision is not None:
            assert (task.decision, task.acted_by_id) == (was.decision, was.acted_by_id), "a decision is never changed"
    old_steps = {s.id: s for s in before.steps}
    for step in after.steps:
        was = old_steps.get(step.id)
        if was is not None and was.status == StepStatus.DONE and step.status == StepStatus.DONE:
            assert step.finished_at == was.finished_at, "a finished step is not decided again"
    assert after.version >= before.version


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), sequence=moves)
def test_no_sequence_of_commands_loses_a_task_decides_twice_or_lets_the_applicant_decide(plan, sequence):
    counter = [100]
    draft = engine.Case(id=1, applicant_id=APPLICANT.id, status=CaseStatus.DRAFT, version=1, updated_at=T0)
    try:
        out = engine.submit(draft, plan, acting_user=Actor(APPLICANT.id), variant=None, number="N", due_at=None, now=T0,
                            env=env())
    except Refusal as refused:
        assert refused.code == "own_case"
        return
    case = _persist(out.case, counter)
    _check(draft, case)
    for move in sequence:
        before = repr(case)
        try:
            out = _run(case, move, plan)
        except Refusal:
            assert repr(case) == before, "a refused command changes nothing"
            continue
        new = _persist(out.case, counter)
        _check(case, new)
        assert new.version > case.version or new.status == case.status, "a change moves the version on"
        case = new
