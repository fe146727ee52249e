"""The case engine acting on behalf (代理): an actor carries the principals it may act for in the
case; the task records acted_by and on_behalf_of; the principal still acts; whoever acts first
wins; no path leads the applicant to decide their own case."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from internal_affairs.cases import engine
from internal_affairs.cases.engine import Actor, CaseStatus, Env, Person, Principal, Refusal, TaskStatus
from tests.support.engine import persist

T0 = datetime(2026, 12, 7, 9, 0)
APPLICANT = Person(1, "xujing", "许静")
ZHANG, WANG, LI, BOSS = (Person(10, "zhang", "张三"), Person(11, "wang", "王五"), Person(12, "li", "李四"),
                         Person(13, "boss", "赵六"))
PEOPLE = {p.uid: p for p in (APPLICANT, ZHANG, WANG, LI, BOSS)}


def env() -> Env:
    return Env(people=PEOPLE)


def actor(p: Person, *principals: Person, reason: str = "delegated") -> Actor:
    return Actor(p.id, p.name, False, tuple(Principal(q.id, q.uid, q.name, reason) for q in principals))


def submitted(*approvers: str, mode: str = "serial") -> engine.Case:
    draft = engine.Case(id=1, applicant_id=APPLICANT.id, status=CaseStatus.DRAFT, version=1, updated_at=T0)
    steps = [{"name": "审批", "kind": "approve", "mode": mode, "approvers": list(approvers)}]
    out = engine.submit(draft, {"steps": steps}, acting_user=actor(APPLICANT), variant=None, number="N-1",
                        due_at=None, now=T0, env=env())
    return persist(out.case)


def task_of(case: engine.Case, p: Person) -> engine.Task:
    return next(t for t in case.tasks if t.assignee_id == p.id and t.status == TaskStatus.PENDING)


def test_the_delegate_decides_and_the_task_says_for_whom():
    case = submitted("zhang")
    task = task_of(case, ZHANG)
    out = engine.decide(case, task.id, "approve", acting_user=actor(WANG, ZHANG), now=T0, env=env(), comment="同意")
    decided = out.case.task(task.id)
    assert decided.status == TaskStatus.APPROVED and decided.assignee_id == ZHANG.id
    assert (decided.acted_by_id, decided.on_behalf_of_id) == (WANG.id, ZHANG.id)
    assert out.case.status == CaseStatus.APPROVED
    [event] = [e for e in out.events if e.action == "cases.task.decided"]
    assert event.data["on_behalf_of"] == "zhang" and event.data["acted_label"] == "王五（代张三）"
    assert "delegation_reason" not in event.data


def test_the_holder_acting_records_no_principal():
    case = submitted("zhang")
    out = engine.decide(case, task_of(case, ZHANG).id, "approve", acting_user=actor(ZHANG), now=T0, env=env())
    task = out.case.tasks[0]
    assert (task.acted_by_id, task.on_behalf_of_id) == (ZHANG.id, None)
    assert "on_behalf_of" not in out.events[0].data


def test_without_the_principal_the_delegate_may_not_act():
    case = submitted("zhang")
    with pytest.raises(Refusal) as refused:
        engine.decide(case, task_of(case, ZHANG).id, "approve", acting_user=actor(WANG, LI), now=T0, env=env())
    assert refused.value.code == "not_your_task"


def test_whoever_acts_first_wins_and_the_other_is_stale():
    case = submitted("zhang")
    task_id = task_of(case, ZHANG).id
    after = persist(engine.decide(case, task_id, "approve", acting_user=actor(ZHANG), now=T0, env=env()).case)
    with pytest.raises(Refusal) as refused:
        engine.decide(after, task_id, "approve", acting_user=actor(WANG, ZHANG), now=T0, env=env())
    assert refused.value.code == "stale"
    after = persist(engine.decide(case, task_id, "approve", acting_user=actor(WANG, ZHANG), now=T0, env=env()).case)
    with pytest.raises(Refusal) as refused:
        engine.decide(after, task_id, "approve", acting_user=actor(ZHANG), now=T0, env=env())
    assert refused.value.code == "stale"


def test_the_applicant_never_acts_even_when_named_a_principal_s_delegate():
    case = submitted("zhang")
    with pytest.raises(Refusal) as refused:
        engine.decide(case, task_of(case, ZHANG).id, "approve", acting_user=actor(APPLICANT, ZHANG), now=T0, env=env())
    assert refused.value.code == "own_case"
    caps = engine.capabilities(case, actor(APPLICANT, ZHANG))
    assert caps.decide == {} and not caps.transfer


def test_capabilities_show_the_delegate_the_principal_s_buttons():
    case = submitted("zhang")
    task = task_of(case, ZHANG)
    caps = engine.capabilities(case, actor(WANG, ZHANG))
    assert caps.decide == {task.id: ("approve", "reject", "return")}
    assert task.id in caps.transfer and task.id in caps.consult and task.id in caps.add_approver
    assert engine.capabilities(case, actor(WANG)).decide == {}


@pytest.mark.parametrize("command,extra", [(engine.transfer, {}), (engine.consult, {}),
                                           (engine.add_approver, {"position": "before"}),
                                           (engine.add_approver, {"position": "after"})])
def test_no_hand_on_by_a_delegate_reaches_the_applicant(command, extra):
    case = submitted("zhang")
    with pytest.raises(Refusal) as refused:
        command(case, task_of(case, ZHANG).id, APPLICANT, acting_user=actor(WANG, ZHANG), now=T0, **extra)
    assert refused.value.code == "self_approval"


def test_the_delegate_transfers_consults_and_adds_on_behalf():
    case = submitted("zhang")
    task = task_of(case, ZHANG)
    out = engine.transfer(case, task.id, LI, acting_user=actor(WANG, ZHANG), now=T0, comment="请李四办")
    old = out.case.task(task.id)
    assert (old.status, old.acted_by_id, old.on_behalf_of_id) == (TaskStatus.TRANSFERRED, WANG.id, ZHANG.id)
    assert out.result.assignee_id == LI.id
    assert out.events[-1].data["acted_label"] == "王五（代张三）"

    out = persist(engine.add_approver(case, task.id, LI, acting_user=actor(WANG, ZHANG), now=T0,
                                      position="before").case)
    added = next(t for t in out.tasks if t.origin == "added_before")
    caps = engine.capabilities(out, actor(WANG, ZHANG))
    assert added.id in caps.remove_approver
    removed = engine.remove_approver(out, added.id, acting_user=actor(ZHANG), now=T0, env=env())
    assert removed.case.task(added.id).status == TaskStatus.CANCELLED

    out = engine.consult(case, task.id, LI, acting_user=actor(WANG, ZHANG), now=T0)
    assert out.events[-1].data["on_behalf_of"] == "zhang" and out.result.assignee_id == LI.id


def test_a_manager_standing_in_for_an_applicant_delegate_is_recorded_with_why():
    case = submitted("zhang")
    task = task_of(case, ZHANG)
    out = engine.decide(case, task.id, "approve", acting_user=actor(BOSS, ZHANG, reason="manager_for_applicant"),
                        now=T0, env=env())
    decided = out.case.task(task.id)
    assert (decided.acted_by_id, decided.on_behalf_of_id) == (BOSS.id, ZHANG.id)
    assert "上级领导代为处理" in decided.note
    assert out.events[-1].data["delegation_reason"] == "manager_for_applicant"


def test_a_delegate_s_withdrawn_decision_goes_back_to_the_principal():
    case = submitted("zhang", "li")
    task = task_of(case, ZHANG)
    after = persist(engine.decide(case, task.id, "approve", acting_user=actor(WANG, ZHANG), now=T0, env=env()).case)
    out = engine.withdraw_decision(after, task.id, acting_user=actor(WANG, ZHANG), now=T0, env=env())
    assert out.result.assignee_id == ZHANG.id


def test_cc_by_a_delegate():
    case = submitted("zhang")
    out = engine.cc(case, [LI], acting_user=actor(WANG, ZHANG), now=T0)
    assert [r.uid for r in out.result] == ["li"]
    with pytest.raises(Refusal):
        engine.cc(case, [LI], acting_user=actor(WANG), now=T0)


everyone = [ZHANG, WANG, LI, BOSS, APPLICANT]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(everyone), st.sets(st.sampled_from(everyone)),
                          st.sampled_from(["approve", "transfer", "consult", "add"]),
                          st.sampled_from(everyone)), max_size=8))
def test_nobody_decides_their_own_case_whatever_the_principals(moves):
    case = submitted("zhang", "wang", mode="serial")
    for who, principals, op, target in moves:
        acting = actor(who, *principals)
        open_tasks = [t for t in case.tasks if t.status == TaskStatus.PENDING]
        if not open_tasks:
            break
        task = open_tasks[0]
        try:
            if op == "approve":
                out = engine.decide(case, task.id, "approve", acting_user=acting, now=T0, env=env())
            elif op == "transfer":
                out = engine.transfer(case, task.id, target, acting_user=acting, now=T0)
            elif op == "consult":
                out = engine.consult(case, task.id, target, acting_user=acting, now=T0)
            else:
                out = engine.add_approver(case, task.id, target, acting_user=acting, now=T0, position="before")
        except Refusal:
            continue
        case = persist(out.case)
    for t in case.tasks:
        assert t.acted_by_id != APPLICANT.id and t.assignee_id != APPLICANT.id
        if t.on_behalf_of_id is not None:
            assert t.on_behalf_of_id == t.assignee_id != t.acted_by_id
