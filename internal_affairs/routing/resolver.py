"""Resolve a route into the concrete step plan for one applicant — a pure, deterministic function.

:func:`resolve_route` takes a parsed :class:`~internal_affairs.routing.dsl.Route`, an
:class:`~internal_affairs.routing.orgview.OrgView`, the applicant's uid and the facts of the case
(form fields and computed facts such as ``leave_working_days``) and returns a :class:`StepPlan`.
The same inputs always give the same plan: people appear in the order the org view lists them.

Rules applied to every route
----------------------------
Not applicable steps
    A step (or branch) whose ``when`` does not hold is kept in the plan with ``applies=False``
    and the reason; it has no approvers and does not take part in de-duplication.
Inactive people
    never act. A leader chain or a department lookup walks past them to the next manager or
    parent department; elsewhere they are simply left out. Each one is recorded in ``skipped``
    (``inactive``).
Self-approval (``self_approval``)
    the applicant never acts on their own case. Where a *position* would fall to the applicant
    (department head, leader in charge, principal leader, a named person or their own choice),
    they are replaced by their nearest active manager. For a *role* (``hr``, ...) the other
    holders of the role act; only if the applicant is its sole holder are they replaced by
    their manager. A leader chain starts above the applicant and cannot contain them.
Leader chains
    walk ``manager`` links from the applicant upwards, ``levels: N`` or ``up_to`` a rank or the
    principal leader (inclusive), and never go above the principal leader of the applicant's
    agency nor leave that agency — except for the principal leader's own case, which goes to
    their nearest active manager (the district leader in charge) and only to them. The levels
    act one after another (mode ``serial``), nearest first.
De-duplication (``duplicate``)
    a person who appears in the *previous applied step* does not act again in the next one; the
    later occurrence is recorded in ``skipped`` — unless the later step (or branch) declares
    ``dedupe: false``. "Appears in a step" means: is one of its approvers, in any branch of a
    parallel step, or was skipped there as a duplicate (their earlier act stands for that step,
    so a person appearing in three steps in a row acts once). Not applicable steps are
    transparent; an auto-approved step and a step in error have no one appearing in them.
    Branches of one parallel step are resolved independently, each against the previous step.
    One person named twice within a step acts once there.
Empty approver sets
    are never a silent pass: when no one can be found (before de-duplication) the step or branch
    carries ``error`` and ``error_assignees`` — the active ``hr`` role holders of the applicant's
    agency other than the applicant, or the active system administrators other than the applicant
    where there are none. When nobody at all is left (the applicant is the only administrator)
    ``error_assignees`` is empty and the step is ``waiting_for_admin``: it waits for an
    administrator other than the applicant. A step whose every approver was de-duplicated is not
    an error: it is satisfied by the earlier act.
No self-approval by any path
    the applicant is never an approver nor an error assignee of their own case, administrator or
    not.
Auto steps (秒批)
    approve on submission when their ``rule`` holds (``auto_outcome="approved"``, nobody acts);
    otherwise their approvers decide (``auto_outcome="fallback"``).
Conditions that cannot be evaluated (a fact of the wrong type) put the step in error rather than
guessing whether it applies.

The applicant's own facts (``applicant.is_cadre`` etc., see
:data:`~internal_affairs.routing.conditions.APPLICANT_FACTS`) are derived from the org view and
override anything of the same name in ``facts``, so a form cannot claim them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from .conditions import Condition
from .dsl import (
    PRINCIPAL_LEADER,
    ApplicantChoice,
    ApproverSpec,
    Branch,
    DepartmentHead,
    LeaderChain,
    LeaderInCharge,
    NamedPerson,
    NamedUnits,
    PrincipalLeader,
    RoleHolders,
    Route,
    Step,
)
from .errors import ConditionEvaluationError
from .orgview import AgencyView, OrgView, PersonView, rank_level

__all__ = [
    "REASONS",
    "ERRORS",
    "ROLE_LABELS",
    "WAITING_FOR_ADMIN",
    "Reason",
    "SkippedApprover",
    "PlannedBranch",
    "PlannedStep",
    "StepPlan",
    "resolve_route",
    "applicant_facts",
]

REASONS: Mapping[str, str] = {
    "self_approval": "申请人本人，改由其上级审批",
    "self_approval_role": "申请人本人，由同一角色的其他人员处理",
    "duplicate": "与上一步审批人相同，不再重复审批",
    "inactive": "人员已停用，不再作为审批人",
    "condition_false": "不满足本步骤的适用条件",
    "no_branch_applies": "各并联分支均不适用",
}
"""Codes and Chinese texts for people skipped and steps not applied."""

ERRORS: Mapping[str, str] = {
    "no_leader": "未找到上级领导",
    "no_manager": "未找到申请人的上级领导",
    "no_chain_rule": "没有适用的审批层级规则",
    "no_department": "申请人未归属任何科室",
    "no_department_head": "未找到科室负责人",
    "no_leader_in_charge": "未找到分管领导",
    "no_agency_leader_in_charge": "未找到本单位的分管区领导",
    "no_principal_leader": "未找到{agency}的主要领导",
    "no_role_holder": "{agency}未配置「{role}」角色人员",
    "unknown_agency": "找不到单位「{agency}」",
    "unknown_person": "找不到人员「{uid}」",
    "choice_missing": "申请人尚未选择审批人",
    "choice_not_allowed": "所选审批人不在允许的范围内",
    "units_missing": "尚未指定会签的科室或单位",
    "unknown_unit": "找不到科室或单位「{unit}」",
    "condition_error": "适用条件无法判断：{detail}",
    "no_approver": "未找到审批人",
}
"""Codes and Chinese texts (templates) for steps that could not be resolved."""

WAITING_FOR_ADMIN = "无其他可处理人，等待系统管理员"
"""What a step in error says when nobody but the applicant could repair it."""

ROLE_LABELS: Mapping[str, str] = {
    "hr": "人事",
    "doc_clerk": "收发文",
    "seal_keeper": "印章管理",
    "auditor": "审计",
    "discipline_review": "纪委审查",
    "cadre_management": "组织部干部管理",
}


class Reason(NamedTuple):
    """Why a step or branch does not apply: a stable ``code`` and a Chinese ``text``."""

    code: str
    text: str


class SkippedApprover(NamedTuple):
    """A person who would have acted but does not: ``(uid, code, text)``."""

    uid: str
    code: str
    text: str


def _skip(uid: str, code: str) -> SkippedApprover:
    return SkippedApprover(uid, "self_approval" if code == "self_approval_role" else code, REASONS[code])


@dataclass(frozen=True, slots=True)
class PlannedBranch:
    """One branch of a parallel step, resolved."""

    name: str
    mode: str
    applies: bool
    approvers: tuple[str, ...] = ()
    skipped: tuple[SkippedApprover, ...] = ()
    error: str | None = None
    error_code: str | None = None
    error_assignees: tuple[str, ...] = ()
    dedupe: bool = True
    not_applied: Reason | None = None

    @property
    def waiting_for_admin(self) -> bool:
        """True when this branch is in error and nobody but the applicant could repair it."""
        return self.error is not None and not self.error_assignees

    @property
    def appearing(self) -> tuple[str, ...]:
        """Approvers plus those skipped as duplicates: who this branch counts for de-duplication."""
        return self.approvers + tuple(s.uid for s in self.skipped if s.code == "duplicate")


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step of the plan.

    ``approvers`` act in this order (for ``serial``) or together (``all``/``any``); a parallel step
    has ``branches`` instead (``mode`` is then ``all``: every branch must finish). ``auto_outcome``
    is ``"approved"`` or ``"fallback"`` for an ``auto`` step that applies, else None.
    """

    name: str
    kind: str
    mode: str
    applies: bool
    approvers: tuple[str, ...] = ()
    skipped: tuple[SkippedApprover, ...] = ()
    branches: tuple[PlannedBranch, ...] = ()
    error: str | None = None
    error_code: str | None = None
    error_assignees: tuple[str, ...] = ()
    dedupe: bool = True
    time_limit: Decimal | None = None
    on_timeout: str | None = None
    auto_outcome: str | None = None
    not_applied: Reason | None = None

    @property
    def is_parallel(self) -> bool:
        """True for a 并联 step."""
        return bool(self.branches)

    @property
    def actors(self) -> tuple[str, ...]:
        """Everyone who acts in this step, branches included, in order, once each."""
        if not self.branches:
            return self.approvers
        seen: dict[str, None] = {}
        for branch in self.branches:
            for uid in branch.approvers:
                seen.setdefault(uid, None)
        return tuple(seen)

    @property
    def appearing(self) -> frozenset[str]:
        """Who the next step is de-duplicated against (see the module docstring)."""
        if not self.applies:
            return frozenset()
        if self.branches:
            return frozenset(uid for branch in self.branches if branch.applies for uid in branch.appearing)
        return frozenset(self.approvers).union(s.uid for s in self.skipped if s.code == "duplicate")

    @property
    def waiting_for_admin(self) -> bool:
        """True when this step is in error and nobody but the applicant could repair it."""
        return self.error is not None and not self.error_assignees

    @property
    def has_error(self) -> bool:
        """True when this step, or one of its branches, could not be resolved."""
        return self.error is not None or any(branch.error is not None for branch in self.branches)

    @property
    def satisfied_by_previous(self) -> bool:
        """True when the step applies but every approver already acted in the previous step."""
        if not self.applies or self.has_error or self.auto_outcome == "approved":
            return False
        if self.branches:
            return all(not b.applies or (not b.approvers and b.error is None) for b in self.branches)
        return not self.approvers


@dataclass(frozen=True, slots=True)
class StepPlan:
    """The resolved route: its steps in order, and which variant of the route was chosen.

    Behaves like a tuple of :class:`PlannedStep`.
    """

    steps: tuple[PlannedStep, ...]
    applicant_uid: str
    variant: str | None = None

    def __iter__(self) -> Iterator[PlannedStep]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> PlannedStep:
        return self.steps[index]

    def step(self, name: str) -> PlannedStep:
        """The planned step called ``name``.

        Raises :class:`KeyError` when there is none.
        """
        for planned in self.steps:
            if planned.name == name:
                return planned
        raise KeyError(name)

    @property
    def applied(self) -> tuple[PlannedStep, ...]:
        """The steps that apply."""
        return tuple(step for step in self.steps if step.applies)

    @property
    def has_error(self) -> bool:
        """True when any step or branch could not be resolved."""
        return any(step.has_error for step in self.steps)

    def as_preview(self) -> dict[str, Any]:
        """The plan as JSON-ready data, in the shape of ``POST /api/v1/route-preview``."""

        def skipped(items: tuple[SkippedApprover, ...]) -> list[dict[str, str]]:
            return [{"uid": s.uid, "reason": s.code, "text": s.text} for s in items]

        def not_applied(reason: Reason | None) -> dict[str, str] | None:
            return None if reason is None else {"reason": reason.code, "text": reason.text}

        steps = []
        for step in self.steps:
            steps.append(
                {
                    "name": step.name,
                    "kind": step.kind,
                    "mode": step.mode,
                    "applies": step.applies,
                    "not_applied": not_applied(step.not_applied),
                    "approvers": list(step.approvers),
                    "skipped": skipped(step.skipped),
                    "branches": [
                        {
                            "name": b.name,
                            "mode": b.mode,
                            "applies": b.applies,
                            "not_applied": not_applied(b.not_applied),
                            "approvers": list(b.approvers),
                            "skipped": skipped(b.skipped),
                            "error": b.error,
                            "error_code": b.error_code,
                            "error_assignees": list(b.error_assignees),
                            "waiting_for_admin": b.waiting_for_admin,
                        }
                        for b in step.branches
                    ],
                    "error": step.error,
                    "error_code": step.error_code,
                    "error_assignees": list(step.error_assignees),
                    "waiting_for_admin": step.waiting_for_admin,
                    "time_limit": None if step.time_limit is None else str(step.time_limit),
                    "auto_outcome": step.auto_outcome,
                }
            )
        return {"applicant": self.applicant_uid, "variant": self.variant, "steps": steps}


def applicant_facts(org: OrgView, applicant: PersonView) -> dict[str, Any]:
    """The ``applicant.*`` facts conditions may test, derived from the org view."""
    agency = org.agencies.get(applicant.agency_id)
    return {
        "applicant.is_cadre": applicant.is_cadre,
        "applicant.rank": applicant.rank,
        "applicant.rank_level": rank_level(applicant.rank),
        "applicant.is_department_head": org.is_department_head(applicant.uid),
        "applicant.is_principal_leader": org.is_principal_leader(applicant.uid),
        "applicant.is_leadership": org.is_leadership(applicant.uid),
        "applicant.agency": None if agency is None else agency.name,
    }


class _Failure(Exception):
    def __init__(self, code: str, **values: str):
        self.code = code
        self.text = ERRORS[code].format(**values) if values else ERRORS[code]
        super().__init__(self.text)


@dataclass(slots=True)
class _Found:
    uids: list[str]
    skipped: list[SkippedApprover]
    failure: _Failure | None = None


class _Resolution:
    def __init__(self, org: OrgView, applicant: PersonView, facts: Mapping[str, Any]):
        self.org = org
        self.applicant = applicant
        self.uid = applicant.uid
        self.agency: AgencyView | None = org.agencies.get(applicant.agency_id)
        merged = dict(facts)
        merged.update(applicant_facts(org, applicant))
        self.facts = merged
        self.raw_facts = facts
        self._error_assignees: tuple[str, ...] | None = None

    @property
    def error_assignees(self) -> tuple[str, ...]:
        if self._error_assignees is None:
            hr: tuple[str, ...] = ()
            if self.agency is not None:
                hr = tuple(u for u in self.agency.holders("hr") if u != self.uid and self.org.is_active(u))
            if not hr:
                people = self.org.people
                hr = tuple(u for u in self.org.system_admin_uids
                           if u != self.uid and (u not in people or people[u].active))
            self._error_assignees = hr
        return self._error_assignees

    def holds(self, condition: Condition) -> bool:
        return condition.evaluate(self.facts)

    def manager_for_self(self, found: _Found) -> None:
        manager, passed = self.org.active_manager(self.uid)
        found.skipped.extend(_skip(uid, "inactive") for uid in passed)
        if manager is not None and manager.uid not in found.uids:
            found.uids.append(manager.uid)
        elif manager is None and not found.uids:
            found.failure = _Failure("no_manager")

    def collect(self, uids: tuple[str, ...], found: _Found) -> bool:
        """Add the active people of ``uids`` to ``found`` once each (inactive ones as skipped);
        return whether the applicant was among them (the caller applies the self-approval rule)."""
        self_found = False
        for uid in uids:
            if uid == self.uid:
                self_found = True
                continue
            person = self.org.people.get(uid)
            if person is None:
                continue
            if not person.active:
                found.skipped.append(_skip(uid, "inactive"))
            elif uid not in found.uids:
                found.uids.append(uid)
        return self_found

    def position(self, uids: tuple[str, ...], passed: tuple[str, ...], failure: _Failure) -> _Found:
        found = _Found([], [_skip(uid, "inactive") for uid in passed])
        self_found = self.collect(uids, found)
        if self_found:
            found.skipped.append(_skip(self.uid, "self_approval"))
            self.manager_for_self(found)
        if not found.uids and found.failure is None:
            found.failure = failure
        return found

    def agency_named(self, name: str | None) -> AgencyView:
        if name is None:
            if self.agency is None:
                raise _Failure("unknown_agency", agency=self.applicant.agency_id)
            return self.agency
        agency = self.org.find_agency(name)
        if agency is None:
            raise _Failure("unknown_agency", agency=name)
        return agency

    def principal_leaders(self, agency: AgencyView) -> _Found:
        return self.position(
            agency.principal_leader_uids, (), _Failure("no_principal_leader", agency=agency.name)
        )

    def spec(self, spec: ApproverSpec) -> _Found:
        try:
            if isinstance(spec, LeaderChain):
                return self.chain(spec)
            if isinstance(spec, RoleHolders):
                return self.role(spec)
            if isinstance(spec, DepartmentHead):
                return self.department_head()
            if isinstance(spec, LeaderInCharge):
                return self.leader_in_charge(spec)
            if isinstance(spec, PrincipalLeader):
                return self.principal_leaders(self.agency_named(spec.agency))
            if isinstance(spec, NamedPerson):
                if spec.uid not in self.org.people:
                    raise _Failure("unknown_person", uid=spec.uid)
                return self.position((spec.uid,), (), _Failure("no_approver"))
            if isinstance(spec, ApplicantChoice):
                return self.choice(spec)
            if isinstance(spec, NamedUnits):
                return self.units(spec)
        except _Failure as failure:
            return _Found([], [], failure)
        except ConditionEvaluationError as exc:
            return _Found([], [], _Failure("condition_error", detail=str(exc)))
        raise TypeError(f"not an approver spec: {spec!r}")

    def chain(self, spec: LeaderChain) -> _Found:
        levels, up_to = spec.levels, spec.up_to
        if spec.choose:
            for rule in spec.choose:
                if rule.when is None or self.holds(rule.when):
                    levels, up_to = rule.levels, rule.up_to
                    break
            else:
                raise _Failure("no_chain_rule")
        found = _Found([], [])
        org = self.org
        if org.is_principal_leader(self.uid):
            manager, passed = org.active_manager(self.uid)
            found.skipped.extend(_skip(uid, "inactive") for uid in passed)
            if manager is None:
                found.failure = _Failure("no_manager")
            else:
                found.uids.append(manager.uid)
            return found
        principals = self.agency.principal_leader_uids if self.agency is not None else ()
        target = None if up_to is None or up_to == PRINCIPAL_LEADER else rank_level(up_to)
        agency_id = self.applicant.agency_id
        for manager in org.manager_chain(self.uid):
            if manager.agency_id != agency_id:
                break
            if not manager.active:
                found.skipped.append(_skip(manager.uid, "inactive"))
                if manager.uid in principals:
                    break
                continue
            found.uids.append(manager.uid)
            if manager.uid in principals:
                break
            if levels is not None and len(found.uids) >= levels:
                break
            if target is not None:
                level = rank_level(manager.rank)
                if level is not None and level >= target:
                    break
        if not found.uids:
            found.failure = _Failure("no_leader")
        return found

    def department_head(self) -> _Found:
        if self.org.is_leadership(self.uid) and self.agency is not None:
            return self.principal_leaders(self.agency)
        if self.applicant.department_id is None:
            raise _Failure("no_department")
        lookup = self.org.find_department_heads(self.applicant.department_id)
        return self.position(lookup.uids, lookup.passed_inactive, _Failure("no_department_head"))

    def leader_in_charge(self, spec: LeaderInCharge) -> _Found:
        if spec.of == "agency":
            agency = self.agency_named(None)
            return self.position(agency.leader_in_charge_uids, (), _Failure("no_agency_leader_in_charge"))
        if self.org.is_leadership(self.uid) and self.agency is not None:
            return self.principal_leaders(self.agency)
        if self.applicant.department_id is None:
            raise _Failure("no_department")
        lookup = self.org.find_department_leaders_in_charge(self.applicant.department_id)
        return self.position(lookup.uids, lookup.passed_inactive, _Failure("no_leader_in_charge"))

    def role(self, spec: RoleHolders) -> _Found:
        agency = self.agency_named(spec.agency)
        found = _Found([], [])
        self_found = self.collect(agency.holders(spec.role), found)
        if self_found:
            if found.uids:
                found.skipped.append(_skip(self.uid, "self_approval_role"))
            else:
                found.skipped.append(_skip(self.uid, "self_approval"))
                self.manager_for_self(found)
        if not found.uids and found.failure is None:
            found.failure = _Failure("no_role_holder", agency=agency.name, role=ROLE_LABELS.get(spec.role, spec.role))
        return found

    def choice(self, spec: ApplicantChoice) -> _Found:
        chosen = self.raw_facts.get(spec.field)
        if isinstance(chosen, str):
            chosen = (chosen,)
        if not chosen or not isinstance(chosen, (list, tuple)) or not all(isinstance(u, str) for u in chosen):
            raise _Failure("choice_missing")
        if spec.allowed is not None:
            allowed_found = self.spec(spec.allowed)
            allowed = set(allowed_found.uids)
            allowed.update(s.uid for s in allowed_found.skipped if s.code == "self_approval")
        else:
            allowed = set(spec.allowed_uids)
        if any(uid not in allowed for uid in chosen):
            raise _Failure("choice_not_allowed")
        return self.position(tuple(chosen), (), _Failure("no_approver"))

    def units(self, spec: NamedUnits) -> _Found:
        named = self.raw_facts.get(spec.field)
        if not named or not isinstance(named, (list, tuple)) or not all(isinstance(u, str) for u in named):
            raise _Failure("units_missing")
        found = _Found([], [])
        for unit in named:
            kind, _sep, unit_id = unit.partition(":")
            if kind == "department" and unit_id in self.org.departments:
                lookup = self.org.find_department_heads(unit_id)
                uids, passed = lookup.uids, lookup.passed_inactive
            elif kind == "agency" and unit_id in self.org.agencies:
                uids, passed = self.org.agencies[unit_id].principal_leader_uids, ()
            elif kind == "person" and unit_id in self.org.people:
                uids, passed = (unit_id,), ()
            else:
                raise _Failure("unknown_unit", unit=unit)
            found.skipped.extend(_skip(uid, "inactive") for uid in passed)
            if self.collect(uids, found):
                found.skipped.append(_skip(self.uid, "self_approval"))
        if not found.uids:
            found.failure = _Failure("no_approver")
        return found

    def people(self, specs: tuple[ApproverSpec, ...]) -> _Found:
        if len(specs) == 1:
            return self.spec(specs[0])
        total = _Found([], [])
        first_failure = None
        for spec in specs:
            found = self.spec(spec)
            for uid in found.uids:
                if uid not in total.uids:
                    total.uids.append(uid)
            for skipped in found.skipped:
                if skipped not in total.skipped:
                    total.skipped.append(skipped)
            if found.failure is not None and first_failure is None:
                first_failure = found.failure
        if not total.uids:
            total.failure = first_failure or _Failure("no_approver")
        return total


def _dedupe(
    found: _Found, previous: frozenset[str], dedupe: bool
) -> tuple[tuple[str, ...], tuple[SkippedApprover, ...]]:
    if not dedupe or not previous:
        return tuple(found.uids), tuple(found.skipped)
    approvers = []
    skipped = list(found.skipped)
    for uid in found.uids:
        if uid in previous:
            skipped.append(_skip(uid, "duplicate"))
        else:
            approvers.append(uid)
    return tuple(approvers), tuple(skipped)


_CONDITION_FALSE = Reason("condition_false", REASONS["condition_false"])
_NO_BRANCH = Reason("no_branch_applies", REASONS["no_branch_applies"])


def _resolve_branch(branch: Branch, run: _Resolution, previous: frozenset[str]) -> PlannedBranch:
    try:
        if branch.when is not None and not run.holds(branch.when):
            return PlannedBranch(branch.name, branch.mode, False, dedupe=branch.dedupe, not_applied=_CONDITION_FALSE)
    except ConditionEvaluationError as exc:
        failure = _Failure("condition_error", detail=str(exc))
        return PlannedBranch(
            branch.name, branch.mode, True, error=failure.text, error_code=failure.code,
            error_assignees=run.error_assignees, dedupe=branch.dedupe,
        )
    found = run.people(branch.approvers)
    if found.failure is not None and not found.uids:
        return PlannedBranch(
            branch.name, branch.mode, True, skipped=tuple(found.skipped), error=found.failure.text,
            error_code=found.failure.code, error_assignees=run.error_assignees, dedupe=branch.dedupe,
        )
    approvers, skipped = _dedupe(found, previous, branch.dedupe)
    return PlannedBranch(branch.name, branch.mode, True, approvers, skipped, dedupe=branch.dedupe)


def _resolve_step(step: Step, run: _Resolution, previous: frozenset[str]) -> PlannedStep:
    common = dict(name=step.name, kind=step.kind, mode=step.mode, dedupe=step.dedupe,
                  time_limit=step.time_limit, on_timeout=step.on_timeout)

    def error(failure: _Failure, skipped: tuple[SkippedApprover, ...] = (), **extra: Any) -> PlannedStep:
        return PlannedStep(applies=True, skipped=skipped, error=failure.text, error_code=failure.code,
                           error_assignees=run.error_assignees, **extra, **common)

    try:
        if step.when is not None and not run.holds(step.when):
            return PlannedStep(applies=False, not_applied=_CONDITION_FALSE, **common)
    except ConditionEvaluationError as exc:
        return error(_Failure("condition_error", detail=str(exc)))

    if step.branches:
        branches = tuple(_resolve_branch(branch, run, previous) for branch in step.branches)
        if not any(branch.applies for branch in branches):
            return PlannedStep(applies=False, not_applied=_NO_BRANCH, branches=branches, **common)
        return PlannedStep(applies=True, branches=branches, **common)

    auto_outcome = None
    if step.kind == "auto" and step.rule is not None:
        try:
            if run.holds(step.rule):
                return PlannedStep(applies=True, auto_outcome="approved", **common)
        except ConditionEvaluationError as exc:
            return error(_Failure("condition_error", detail=str(exc)))
        auto_outcome = "fallback"

    found = run.people(step.approvers)
    if found.failure is not None and not found.uids:
        return error(found.failure, tuple(found.skipped), auto_outcome=auto_outcome)
    approvers, skipped = _dedupe(found, previous, step.dedupe)
    return PlannedStep(applies=True, approvers=approvers, skipped=skipped, auto_outcome=auto_outcome, **common)


def resolve_route(route: Route, org: OrgView, applicant_uid: str, facts: Mapping[str, Any]) -> StepPlan:
    """The concrete step plan of ``route`` for ``applicant_uid``, given the case's ``facts``.

    Pure and deterministic; see the module docstring for the rules it applies. Problems with the
    org data (nobody to approve, an unknown agency, a fact of the wrong type) become step errors
    with error assignees, never exceptions.

    Raises :class:`~internal_affairs.routing.errors.UnknownPersonError` when the applicant is not
    in the org view.
    """
    applicant = org.person(applicant_uid)
    run = _Resolution(org, applicant, facts)
    variant = route.variants[-1]
    for candidate in route.variants[:-1]:
        try:
            chosen = candidate.when is None or run.holds(candidate.when)
        except ConditionEvaluationError as exc:
            failure = _Failure("condition_error", detail=str(exc))
            step = PlannedStep(name=candidate.name or "路线选择", kind="approve", mode="any", applies=True,
                               error=failure.text, error_code=failure.code, error_assignees=run.error_assignees)
            return StepPlan((step,), applicant_uid, candidate.name)
        if chosen:
            variant = candidate
            break
    planned: list[PlannedStep] = []
    previous: frozenset[str] = frozenset()
    for step in variant.steps:
        result = _resolve_step(step, run, previous)
        planned.append(result)
        if result.applies:
            previous = result.appearing
    return StepPlan(tuple(planned), applicant_uid, variant.name)
