"""The case engine in memory: every command in every case state, the lane modes, parallel
branches, returns and withdrawals — no database, no Flask."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from internal_affairs.cases import engine
from internal_affairs.cases.engine import Actor, CaseStatus, Env, Person, Refusal, StepStatus, TaskStatus
from tests.support.engine import persist as _persist

T0 = datetime(2026, 12, 7, 9, 0)
APPLICANT = Person(1, "xujing", "许静")
A, B, C, D = (Person(10, "a", "甲"), Person(11, "b", "乙"), Person(12, "c", "丙"), Person(13, "d", "丁"))
PEOPLE = {p.uid: p for p in (APPLICANT, A, B, C, D)}


def actor(p: Person, admin: bool = False) -> Actor:
    return Actor(p.id, p.name, admin)


def lane(mode: str, *uids: str, **extra) -> dict:
    return {"mode": mode, "approvers": list(uids), **extra}


def step(name: str, mode: str = "serial", *uids: str, kind: str = "approve", **extra) -> dict:
    return {"name": name, "kind": kind, **lane(mode, *uids), **extra}


def draft() -> engine.Case:
    return engine.Case(id=1, applicant_id=APPLICANT.id, status=CaseStatus.DRAFT, version=1, updated_at=T0,
                       form={"start_date": "2026-12-07"})


class Clock:
    def due(self, start, days):
        return start + timedelta(days=int(days))

    def due_after_date(self, day, days):
        return datetime.combine(day, datetime.min.time()) + timedelta(days=days)


def submitted(*steps: dict, obligations=()) -> engine.Case:
    """A case submitted on ``steps``, its new ids made positive as the database would."""
    env = Env(people=PEOPLE, deadlines=Clock(), obligations=lambda: obligations)
    out = engine.submit(draft(), {"steps": list(steps)}, acting_user=actor(APPLICANT), variant=None, number="N-1",
                        due_at=None, now=T0, env=env)
    return _persist(out.case)


def env(obligations=()) -> Env:
    return Env(people=PEOPLE, deadlines=Clock(), obligations=lambda: obligations)


def open_of(case: engine.Case, p: Person) -> engine.Task:
    return next(t for t in case.tasks if t.assignee_id == p.id and t.status == TaskStatus.PENDING)


def decide(case, p, decision="approve", comment="意见", **kw) -> engine.Case:
    return _persist(engine.decide(case, open_of(case, p).id, decision, acting_user=actor(p), now=T0, env=env(), comment=comment,
                                  **kw).case)


def test_the_engine_imports_no_flask_and_no_database():
    """Loaded on its own (the package around it is a Flask app), the engine brings in neither
    Flask nor SQLAlchemy."""
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('case_engine', {engine.__file__!r}); "
            "module = importlib.util.module_from_spec(spec); sys.modules['case_engine'] = module; "
            "spec.loader.exec_module(module); "
            "assert not {'flask', 'flask_babel', 'sqlalchemy', 'internal_affairs'} & set(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_command_leaves_the_case_it_was_given_as_it_was():
    case = submitted(step("领导", "serial", "a", "b"))
    before = repr(case)
    engine.decide(case, open_of(case, A).id, "approve", acting_user=actor(A), now=T0, env=env())
    assert repr(case) == before


def test_a_serial_lane_goes_person_by_person_and_then_the_next_step():
    case = submitted(step("领导", "serial", "a", "b"), step("人事", "any", "c"))
    assert [t.assignee_id for t in case.tasks] == [A.id]
    case = decide(case, A)
    assert [t.assignee_id for t in case.tasks if t.status == "pending"] == [B.id]
    case = decide(case, B)
    assert case.ordered_steps()[0].status == StepStatus.DONE and case.current_step == 1
    case = decide(case, C)
    assert case.status == CaseStatus.APPROVED and case.finished_at == T0 and case.current_step is None


def test_an_any_lane_is_finished_by_one_and_the_others_are_cancelled():
    case = submitted(step("会商", "any", "a", "b", "c"))
    out = engine.decide(case, open_of(case, B).id, "approve", acting_user=actor(B), now=T0, env=env())
    cancelled = [t for t in out.case.tasks if t.status == TaskStatus.CANCELLED]
    assert {t.assignee_id for t in cancelled} == {A.id, C.id}
    assert all(t.closed_by_task_id == open_of(case, B).id and t.note == "已由他人处理" for t in cancelled)
    assert out.case.status == CaseStatus.APPROVED
    assert [e.action for e in out.events] == ["cases.case.approved", "cases.task.decided"]
    assert out.events[0].by_system and not out.events[1].by_system


def test_an_all_lane_waits_for_everyone():
    case = submitted(step("会签", "all", "a", "b"))
    case = decide(case, A)
    assert case.status == CaseStatus.IN_PROGRESS and case.ordered_steps()[0].status == StepStatus.ACTIVE
    case = decide(case, B)
    assert case.status == CaseStatus.APPROVED


def test_parallel_branches_finish_the_step_only_when_every_branch_has():
    spec = {"name": "并联", "kind": "approve", "mode": "all",
            "branches": [{"name": "甲", **lane("any", "a")}, {"name": "乙", **lane("serial", "b", "c")}]}
    case = submitted(spec, step("人事", "any", "d"))
    case = decide(case, A)
    first = case.ordered_steps()[0]
    assert first.progress.done_branches == ("甲",) and first.status == StepStatus.ACTIVE
    case = decide(case, B)
    case = decide(case, C)
    first = case.ordered_steps()[0]
    assert first.status == StepStatus.DONE and sorted(first.progress.done_branches) == ["乙", "甲"]
    assert open_of(case, D)


def test_an_approver_already_decided_is_skipped_and_auto_steps_approve_themselves():
    case = submitted({"name": "秒批", "kind": "auto", "mode": "any", "approvers": [], "auto_outcome": "approved",
                      "rule": "r1"}, step("空", "any"), step("领导", "any", "a"))
    steps = case.ordered_steps()
    assert steps[0].status == StepStatus.DONE and steps[0].note == "符合秒批规则，系统即时确认"
    assert steps[1].status == StepStatus.SKIPPED and steps[2].status == StepStatus.ACTIVE


def test_a_step_naming_only_the_applicant_waits_for_an_administrator_other_than_the_applicant():
    case = submitted(step("领导", "any", "xujing"))
    task = case.tasks[0]
    assert task.kind == "error" and task.assignee_id is None and task.note == "申请人不能审批自己的申请。"
    with pytest.raises(Refusal) as refused:
        engine.decide(case, task.id, "done", acting_user=actor(APPLICANT, admin=True), now=T0, env=env())
    assert refused.value.code == "own_case"
    with pytest.raises(Refusal) as refused:
        engine.decide(case, task.id, "done", acting_user=actor(A), now=T0, env=env())
    assert refused.value.code == "not_your_task"
    out = engine.decide(case, task.id, "done", acting_user=actor(A, admin=True), now=T0, env=env())
    assert out.case.tasks[0].assignee_id == A.id and out.case.status == CaseStatus.APPROVED


def test_obligations_keep_the_case_approved_until_done():
    ob = engine.Obligation("back", "销假", "start_date", 2)
    case = submitted(step("领导", "any", "a"), obligations=(ob,))
    out = engine.decide(case, open_of(case, A).id, "approve", acting_user=actor(A), now=T0, env=env((ob,)))
    case = _persist(out.case)
    assert case.status == CaseStatus.APPROVED and case.finished_at is None
    duty = open_of(case, APPLICANT)
    assert duty.kind == "obligation" and duty.obligation_code == "back" and duty.due_at == datetime(2026, 12, 9)
    out = engine.decide(case, duty.id, "done", acting_user=actor(APPLICANT), now=T0, env=env((ob,)))
    assert out.case.status == CaseStatus.COMPLETED
    assert [e.action for e in out.events] == ["cases.case.completed", "cases.task.decided"]


def test_an_obligation_is_done_by_its_holder_and_never_handed_on():
    """The applicant's own duties after approval: only done, never transferred, consulted on or
    given an added approver, and capabilities say the same."""
    ob = engine.Obligation("back", "销假", "start_date", 2)
    case = submitted(step("领导", "any", "a"), obligations=(ob,))
    case = _persist(engine.decide(case, open_of(case, A).id, "approve", acting_user=actor(A), now=T0,
                                  env=env((ob,))).case)
    duty = open_of(case, APPLICANT)
    me = actor(APPLICANT)
    for command, kwargs in ((engine.transfer, {}), (engine.consult, {}), (engine.add_approver, {"position": "before"}),
                            (engine.add_approver, {"position": "after"})):
        with pytest.raises(Refusal) as refused:
            command(case, duty.id, B, acting_user=me, now=T0, **kwargs)
        assert (refused.value.code, refused.value.reason) == ("forbidden", "obligation_own")
    for op in ("transfer", "consult", "add_approver"):
        with pytest.raises(Refusal):
            engine.check_forward(case, duty, me, op)
    mine = engine.capabilities(case, me)
    assert mine.decide[duty.id] == ("done",)
    assert duty.id not in mine.forward | mine.transfer | mine.consult | mine.add_approver
    assert engine.decide(case, duty.id, "done", acting_user=me, now=T0, env=env((ob,))).case.status == "completed"


def test_capabilities_name_each_way_a_task_may_be_handed_on():
    """Per task, capabilities answer with check_forward: an approval may be transferred, consulted
    on and given approvers; a read task only transferred or consulted on."""
    case = submitted(step("领导", "any", "a"), step("阅知", "all", "b", kind="read"))
    approval = open_of(case, A)
    caps = engine.capabilities(case, actor(A))
    assert approval.id in caps.transfer & caps.consult & caps.add_approver
    case = decide(case, A)
    reading = open_of(case, B)
    caps = engine.capabilities(case, actor(B))
    assert reading.id in caps.transfer & caps.consult and reading.id not in caps.add_approver
    with pytest.raises(Refusal) as refused:
        engine.add_approver(case, reading.id, C, acting_user=actor(B), now=T0, position="after")
    assert refused.value.reason == "cannot_add"
    assert engine.transfer(case, reading.id, C, acting_user=actor(B), now=T0).result.assignee_id == C.id
    assert not engine.capabilities(case, actor(C)).transfer


def test_reject_ends_the_case_and_cancels_the_rest():
    case = submitted(step("会签", "all", "a", "b"))
    with pytest.raises(Refusal) as refused:
        decide(case, A, "reject", comment=None)
    assert refused.value.reason == "comment_required"
    case = decide(case, A, "reject")
    assert case.status == CaseStatus.REJECTED and case.ordered_steps()[0].status == StepStatus.REJECTED
    assert {t.status for t in case.tasks} == {TaskStatus.REJECTED, TaskStatus.CANCELLED}


def test_return_to_the_applicant_then_resubmit_resumes_where_it_was():
    case = submitted(step("领导", "serial", "a", "b"))
    case = decide(case, A)
    case = decide(case, B, "return")
    assert case.status == CaseStatus.RETURNED and case.return_count == 1 and case.returned_from_step == 0
    assert case.ordered_steps()[0].progress.resume == engine.Resume(None, 1)
    out = engine.resubmit(case, case.form, title="t", acting_user=actor(APPLICANT), now=T0, env=env(),
                          matter_restarts=False, resolve=lambda: pytest.fail("no restart"), revision=1, changed=[])
    case = _persist(out.case)
    assert [e.action for e in out.events] == ["cases.case.resubmitted"]
    assert open_of(case, B).position == 1, "back to the approver who returned it"
    assert case.ordered_steps()[0].progress.resume is None


def test_resubmit_restart_supersedes_the_steps_and_plans_again():
    case = submitted(step("领导", "any", "a"))
    case = decide(case, A, "return")
    out = engine.resubmit(case, case.form, title="t", acting_user=actor(APPLICANT), now=T0, env=env(), matter_restarts=True,
                          resolve=lambda: ({"steps": [step("新", "any", "c")]}, "v2", {}), revision=1, changed=["x"])
    case = _persist(out.case)
    assert [e.action for e in out.events] == ["cases.case.plan_changed", "cases.case.resubmitted"]
    assert [(s.index < 0, s.status) for s in case.ordered_steps()] == [(True, "superseded"), (False, "active")]
    assert open_of(case, C) and case.variant == "v2"


def test_return_to_an_earlier_step_starts_it_again():
    case = submitted(step("领导", "any", "a"), step("人事", "any", "b"))
    case = decide(case, A)
    with pytest.raises(Refusal) as refused:
        decide(case, B, "return", to_step="人事")
    assert refused.value.reason == "to_step_invalid"
    case = decide(case, B, "return", to_step=0)
    assert case.status == CaseStatus.IN_PROGRESS and case.return_count == 1 and case.current_step == 0
    assert open_of(case, A) and case.ordered_steps()[1].status == StepStatus.PLANNED


def test_withdraw_a_decision_reopens_the_lane_until_the_next_step_acts():
    case = submitted(step("会商", "any", "a", "b"), step("人事", "any", "c"))
    decided = open_of(case, A).id
    case = decide(case, A)
    out = engine.withdraw_decision(case, decided, acting_user=actor(A), now=T0, env=env())
    new = _persist(out.case)
    assert {t.assignee_id for t in new.tasks if t.status == "pending"} == {A.id, B.id}
    assert new.ordered_steps()[1].status == StepStatus.PLANNED and new.current_step == 0
    case = decide(case, C)
    with pytest.raises(Refusal) as refused:
        engine.withdraw_decision(case, decided, acting_user=actor(A), now=T0, env=env())
    assert (refused.value.code, refused.value.reason) == ("invalid_transition", "finished")


def test_consult_and_add_before_block_the_holder_until_answered():
    case = submitted(step("领导", "any", "a"))
    task = open_of(case, A)
    case = _persist(engine.consult(case, task.id, B, acting_user=actor(A), now=T0, comment="?").case)
    assert case.task(task.id).blocked_by_task_id == open_of(case, B).id
    with pytest.raises(Refusal) as refused:
        decide(case, A)
    assert refused.value.code == "blocked"
    case = decide(case, B, "done")
    assert case.task(task.id).blocked_by_task_id is None and case.status == CaseStatus.IN_PROGRESS
    case = _persist(engine.add_approver(case, task.id, C, acting_user=actor(A), now=T0, position="before").case)
    added = open_of(case, C)
    case = _persist(engine.remove_approver(case, added.id, acting_user=actor(A), now=T0, env=env()).case)
    assert case.task(added.id).status == TaskStatus.CANCELLED and case.task(task.id).blocked_by_task_id is None
    case = decide(case, A)
    assert case.status == CaseStatus.APPROVED


def test_an_opinion_asked_by_a_holder_whom_another_holder_beat_is_cancelled_with_their_task():
    """或签: 甲 asks 丙's opinion, 乙 approves first; 甲's task and 丙's opinion are cancelled, none
    is left open on the finished case (found by the property test)."""
    case = submitted(step("领导", "any", "a", "b"))
    task = open_of(case, A)
    case = _persist(engine.consult(case, task.id, C, acting_user=actor(A), now=T0, comment="?").case)
    asked = open_of(case, C)
    case = decide(case, B)
    assert case.status == CaseStatus.APPROVED
    assert case.task(task.id).status == case.task(asked.id).status == TaskStatus.CANCELLED
    assert not [t for t in case.tasks if t.status == TaskStatus.PENDING]


@pytest.mark.parametrize("position", ["before", "after"])
def test_approvers_added_by_a_holder_whom_another_holder_beat_are_cancelled_with_their_task(position):
    """或签: 甲 adds 丙 (加签, before or after 甲), 乙 approves first. The step is settled: 甲's
    task, 丙's and 丁's (whom 丙 asked in turn) are cancelled, the next step starts, and nothing is
    left waiting for a task that will never be decided (an added-after task once stalled the case
    that way)."""
    case = submitted(step("领导", "any", "a", "b"), step("主要领导", "any", "d"))
    task = open_of(case, A)
    case = _persist(engine.add_approver(case, task.id, C, acting_user=actor(A), now=T0, position=position).case)
    added = next(t for t in case.tasks if t.assignee_id == C.id)
    if position == "before":
        case = _persist(engine.consult(case, added.id, D, acting_user=actor(C), now=T0).case)
    case = decide(case, B)
    first, second = case.ordered_steps()
    assert first.status == StepStatus.DONE and second.status == StepStatus.ACTIVE
    settled = [t for t in case.tasks if t.step_id == first.id and t.assignee_id != B.id]
    assert settled and all(t.status == TaskStatus.CANCELLED and t.blocked_by_task_id is None for t in settled)
    assert [t.assignee_id for t in case.tasks if t.status == TaskStatus.PENDING] == [D.id]
    assert open_of(case, D).step_id == second.id


def test_removing_an_added_approver_cancels_what_they_asked_for_and_nothing_else():
    """减签: 甲 adds 乙 before them, 乙 adds 丙 before themself and asks 丁's opinion... removing 丙
    cancels 丙 and the opinion 丙 asked for, never 乙, who added 丙."""
    case = submitted(step("领导", "serial", "a"))
    holder = open_of(case, A)
    case = _persist(engine.add_approver(case, holder.id, B, acting_user=actor(A), now=T0, position="before").case)
    second = open_of(case, B)
    case = _persist(engine.add_approver(case, second.id, C, acting_user=actor(B), now=T0, position="before").case)
    third = open_of(case, C)
    case = _persist(engine.consult(case, third.id, D, acting_user=actor(C), now=T0).case)
    case = _persist(engine.remove_approver(case, third.id, acting_user=actor(B), now=T0, env=env()).case)
    assert case.task(third.id).status == TaskStatus.CANCELLED and case.task(third.id).note == "已减签"
    assert [t.assignee_id for t in case.tasks if t.kind == engine.TaskKind.CONSULT] == [D.id]
    assert next(t for t in case.tasks if t.assignee_id == D.id).status == TaskStatus.CANCELLED
    assert case.task(second.id).status == TaskStatus.PENDING and case.task(second.id).blocked_by_task_id is None
    assert case.task(holder.id).blocked_by_task_id == second.id
    case = decide(case, B)
    case = decide(case, A)
    assert case.status == CaseStatus.APPROVED


def test_an_added_approver_who_transferred_is_removed_by_the_holder_who_added_them_and_no_one_else():
    """乙 adds 丙 before them, 丙 transfers to 甲: 丙 may no longer remove anything, 乙 removes 甲's
    task and may decide again (found by the property test: 乙 stayed blocked for ever)."""
    case = submitted(step("领导", "serial", "b"))
    holder = open_of(case, B)
    case = _persist(engine.add_approver(case, holder.id, C, acting_user=actor(B), now=T0, position="before").case)
    case = _persist(engine.transfer(case, open_of(case, C).id, A, acting_user=actor(C), now=T0).case)
    added = open_of(case, A)
    with pytest.raises(Refusal) as refused:
        engine.remove_approver(case, added.id, acting_user=actor(C), now=T0, env=env())
    assert refused.value.code == "forbidden"
    case = _persist(engine.remove_approver(case, added.id, acting_user=actor(B), now=T0, env=env()).case)
    assert case.task(holder.id).blocked_by_task_id is None
    case = decide(case, B)
    assert case.status == CaseStatus.APPROVED


def test_an_opinion_withdrawn_makes_its_asker_wait_again_and_only_while_the_asker_has_not_acted():
    case = submitted(step("领导", "any", "a", "b"), step("主要领导", "any", "d"))
    task = open_of(case, A)
    case = _persist(engine.consult(case, task.id, C, acting_user=actor(A), now=T0).case)
    asked = open_of(case, C)
    case = decide(case, C, "done")
    case = _persist(engine.withdraw_decision(case, asked.id, acting_user=actor(C), now=T0, env=env()).case)
    again = open_of(case, C)
    assert again.parent_task_id == task.id and case.task(task.id).blocked_by_task_id == again.id
    case = decide(case, C, "done")
    case = decide(case, A)
    assert case.status == CaseStatus.IN_PROGRESS
    with pytest.raises(Refusal) as refused:
        engine.withdraw_decision(case, again.id, acting_user=actor(C), now=T0, env=env())
    assert (refused.value.code, refused.value.reason) == ("invalid_transition", "later_acted")


def test_add_after_runs_after_the_holder_and_transfer_hands_the_task_on():
    case = submitted(step("领导", "any", "a"))
    task = open_of(case, A)
    case = _persist(engine.add_approver(case, task.id, B, acting_user=actor(A), now=T0, position="after").case)
    case = decide(case, A)
    assert case.status == CaseStatus.IN_PROGRESS and open_of(case, B).blocked_by_task_id is None
    case = _persist(engine.transfer(case, open_of(case, B).id, C, acting_user=actor(B), now=T0).case)
    assert open_of(case, C).origin == "added_after" and open_of(case, C).note == "由乙转办"
    case = decide(case, C)
    assert case.status == CaseStatus.APPROVED


@pytest.mark.parametrize("target", [A, APPLICANT])
def test_nobody_hands_a_task_to_themselves_or_the_applicant(target):
    case = submitted(step("领导", "any", "a"))
    for command in (engine.transfer, engine.consult):
        with pytest.raises(Refusal) as refused:
            command(case, open_of(case, A).id, target, acting_user=actor(A), now=T0)
        assert refused.value.code == "self_approval"


# ---- every command in every case state -------------------------------------------------------

def _in_state(status: str) -> engine.Case:
    case = submitted(step("领导", "any", "a"), step("人事", "any", "b"))
    if status == "draft":
        return draft()
    if status == "in_progress":
        return case
    if status == "returned":
        return decide(case, A, "return")
    if status == "rejected":
        return decide(case, A, "reject")
    if status == "approved":
        ob = engine.Obligation("back", "销假", None, 1)
        case = decide(case, A)
        return _persist(engine.decide(case, open_of(case, B).id, "approve", acting_user=actor(B), now=T0,
                                      env=env((ob,))).case)
    if status == "completed":
        return decide(submitted(step("办理", "any", "a", kind="handle")), A, "done")
    if status == "withdrawn":
        return _persist(engine.withdraw_case(case, acting_user=actor(APPLICANT), now=T0).case)
    raise AssertionError(status)


def _first_open(case):
    return next((t for t in case.tasks if t.status == "pending" and t.kind != "obligation"), None)


COMMANDS = {
    "approve": lambda c: engine.decide(c, _first_open(c).id if _first_open(c) else 999, "approve",
                                       acting_user=actor(A), now=T0, env=env()),
    "withdraw_case": lambda c: engine.withdraw_case(c, acting_user=actor(APPLICANT), now=T0),
    "resubmit": lambda c: engine.resubmit(c, c.form, title="t", acting_user=actor(APPLICANT), now=T0, env=env(),
                                          matter_restarts=False, resolve=lambda: ({"steps": []}, None, {}),
                                          revision=1, changed=[]),
    "remind": lambda c: engine.check_remind(c, actor(APPLICANT)),
    "submit": lambda c: engine.submit(c, {"steps": [step("领导", "any", "a")]}, acting_user=actor(APPLICANT), variant=None,
                                      number="N", due_at=None, now=T0, env=env()),
}
ALLOWED_IN = {
    "approve": {"in_progress"},
    "withdraw_case": {"draft", "in_progress", "returned"},
    "resubmit": {"returned"},
    "remind": {"in_progress"},
    "submit": {"draft"},
}
STATES = ("draft", "in_progress", "returned", "rejected", "approved", "completed", "withdrawn")


@pytest.mark.parametrize("status", STATES)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_in_every_case_state_works_or_is_refused_by_name(command, status):
    case = _in_state(status)
    assert case.status == status
    if status in ALLOWED_IN[command]:
        COMMANDS[command](case)
    else:
        with pytest.raises(Refusal) as refused:
            COMMANDS[command](case)
        assert refused.value.code in ("invalid_transition", "not_found", "stale")


@pytest.mark.parametrize("status", STATES)
def test_capabilities_say_what_the_commands_allow(status):
    case = _in_state(status)
    mine = engine.capabilities(case, actor(APPLICANT))
    assert mine.withdraw_case == (status in ALLOWED_IN["withdraw_case"])
    assert mine.resubmit == (status == "returned") and mine.remind == (status == "in_progress")
    assert mine.edit_draft == mine.submit == (status == "draft")
    assert not engine.capabilities(case, actor(C)).withdraw_case
    holder = engine.capabilities(case, actor(A))
    task = _first_open(case)
    if task is not None and task.assignee_id == A.id:
        assert holder.decide[task.id] == ("approve", "reject", "return")
        assert task.id in holder.forward and task.id in holder.add_approver
    else:
        assert not holder.decide


def test_capabilities_of_a_decider_name_the_decision_they_may_withdraw():
    case = submitted(step("领导", "any", "a"), step("人事", "any", "b"))
    decided = open_of(case, A).id
    case = decide(case, A)
    assert engine.capabilities(case, actor(A)).withdraw_decision == {decided}
    assert engine.capabilities(case, actor(B)).return_to == {open_of(case, B).id: ("领导",)}
    case = decide(case, B)
    assert engine.capabilities(case, actor(A)).withdraw_decision == set()


@pytest.mark.parametrize("status", STATES)
def test_a_case_moves_only_along_the_transitions_table(status):
    for target in engine.CaseStatus:
        case = _in_state(status)
        if target in engine.CASE_TRANSITIONS[case.status]:
            engine.transition(case, target)
            assert case.status == target
        else:
            with pytest.raises(Refusal):
                engine.transition(case, target)


def test_cc_copies_to_new_people_only_and_leaves_the_case_as_it_was():
    case = submitted(step("领导", "serial", "a"))
    out = engine.cc(case, [B, APPLICANT, C, B, D], acting_user=actor(APPLICANT), now=T0, already=[D.id])
    assert [(r.person_id, r.by_id, r.created_at) for r in out.result] == [(B.id, APPLICANT.id, T0), (C.id, APPLICANT.id, T0)]
    assert [(e.action, dict(e.data)) for e in out.events] == [("cases.case.cc", {"case_id": case.id, "to": ["b", "c"]})]
    assert repr(out.case) == repr(case)
    assert engine.cc(case, [C], acting_user=actor(A), now=T0).result[0].by_id == A.id, "a holder may CC"
    with pytest.raises(Refusal) as refused:
        engine.cc(case, [C], acting_user=actor(B), now=T0)
    assert (refused.value.code, refused.value.reason) == ("forbidden", "cc_not_involved")


@pytest.mark.parametrize("status", STATES)
def test_remind_only_by_the_applicant_while_in_progress(status):
    case = _in_state(status)
    if status != "in_progress":
        with pytest.raises(Refusal) as refused:
            engine.remind(case, acting_user=actor(APPLICANT), now=T0)
        assert refused.value.reason == "not_in_progress"
        return
    out = engine.remind(case, acting_user=actor(APPLICANT), now=T0)
    pending = [t.id for t in case.tasks if t.status == "pending" and t.kind != "obligation"]
    assert pending and [r.task_id for r in out.result] == pending
    assert [e.action for e in out.events] == ["cases.case.reminded"] and out.events[0].data["tasks"] == pending
    assert repr(out.case) == repr(case)
    with pytest.raises(Refusal) as refused:
        engine.remind(case, acting_user=actor(A), now=T0)
    assert refused.value.reason == "applicant_only"


def test_remind_at_most_once_every_interval():
    case = submitted(step("领导", "serial", "a"))
    soon = T0 + engine.REMIND_INTERVAL - timedelta(seconds=30)
    with pytest.raises(Refusal) as refused:
        engine.remind(case, acting_user=actor(APPLICANT), now=soon, last=T0)
    assert refused.value.code == "rate_limited" and refused.value.values == {"n": 1}
    later = T0 + engine.REMIND_INTERVAL
    assert [r.created_at for r in engine.remind(case, acting_user=actor(APPLICANT), now=later, last=T0).result] == [later]


@pytest.mark.parametrize("status", STATES)
def test_files_are_added_and_taken_back_by_the_applicant_while_the_case_is_theirs(status):
    """One rule for the attachment services and capabilities: the applicant uploads while the case
    is open, takes a file back while they hold it (draft or returned); anyone else never."""
    case = _in_state(status)
    mine = engine.capabilities(case, actor(APPLICANT))
    assert mine.upload == (status in ("draft", "in_progress", "returned"))
    assert mine.withdraw_attachments == (status in ("draft", "returned"))
    for check, allowed in ((engine.check_upload, mine.upload), (engine.check_withdraw_attachment, mine.withdraw_attachments)):
        if allowed:
            check(case, actor(APPLICANT))
        else:
            with pytest.raises(Refusal) as refused:
                check(case, actor(APPLICANT))
            assert refused.value.code == "invalid_transition"
        with pytest.raises(Refusal) as refused:
            check(case, actor(A))
        assert refused.value.code == "forbidden"
    other = engine.capabilities(case, actor(A))
    assert not other.upload and not other.withdraw_attachments


def test_the_platform_escalates_an_overdue_task_to_someone_else_and_nobody_is_recorded_as_acting():
    case = submitted(step("领导", "serial", "a"), step("主要领导", "serial", "d", time_limit=2))
    task = open_of(case, A)
    out = engine.escalate(case, task.id, C, now=T0, env=env(), reason="超时未办")
    case = _persist(out.case)
    old, new = case.task(task.id), open_of(case, C)
    assert (old.status, old.acted_by_id, old.comment) == (TaskStatus.TRANSFERRED, None, "超时未办")
    assert new.parent_task_id == task.id and new.due_at == T0 + timedelta(days=1)
    assert [(e.action, e.by_system) for e in out.events] == [("cases.task.escalated", True)]
    for target, code in ((APPLICANT, "self_approval"), (C, "self_approval")):
        with pytest.raises(Refusal) as refused:
            engine.escalate(case, new.id, target, now=T0, env=env(), reason="x")
        assert refused.value.code == code
    case = decide(case, C)
    with pytest.raises(Refusal) as refused:
        engine.escalate(case, new.id, B, now=T0, env=env(), reason="x")
    assert refused.value.code == "stale"
    second = open_of(case, D)
    case = _persist(engine.consult(case, second.id, B, acting_user=actor(D), now=T0).case)
    with pytest.raises(Refusal) as refused:
        engine.escalate(case, second.id, A, now=T0, env=env(), reason="x")
    assert refused.value.code == "blocked"
    assert open_of(case, B).kind == engine.TaskKind.CONSULT


def test_an_overdue_approval_is_approved_by_the_platform_only_where_nothing_waits():
    case = submitted(step("会商", "any", "a", "b"), step("主要领导", "serial", "d"))
    task = open_of(case, A)
    out = engine.approve_on_timeout(case, task.id, now=T0, env=env(), reason="超时")
    after = _persist(out.case)
    assert (after.task(task.id).status, after.task(task.id).acted_by_id) == (TaskStatus.APPROVED, None)
    assert all(t.status == TaskStatus.CANCELLED for t in after.tasks if t.assignee_id == B.id)
    assert open_of(after, D).step_id == after.ordered_steps()[1].id
    assert [(e.action, e.by_system) for e in out.events] == [("cases.task.auto_approved", True)]
    with pytest.raises(Refusal) as refused:
        engine.approve_on_timeout(after, task.id, now=T0, env=env(), reason="超时")
    assert refused.value.code == "stale"
    waiting = _persist(engine.consult(case, task.id, C, acting_user=actor(A), now=T0).case)
    with pytest.raises(Refusal) as refused:
        engine.approve_on_timeout(waiting, task.id, now=T0, env=env(), reason="超时")
    assert refused.value.code == "blocked"
    reading = submitted(step("传阅", "serial", "a", kind="read"))
    with pytest.raises(Refusal) as refused:
        engine.approve_on_timeout(reading, open_of(reading, A).id, now=T0, env=env(), reason="超时")
    assert refused.value.code == "invalid"
